import type { z } from "@hono/zod-openapi";
import { SECURITY_HEADERS } from "../security/headers.js";

/** `responses` entry with a JSON body. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

/** `request` entry with a required JSON body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});

/**
 * Headers of every JSON response: the contract's `application/json; charset=utf-8` (Hono writes
 * `application/json`) and the security headers (src/security/headers.ts).
 * `c.json(body, status, JSON_HEADERS)`: one constant plain object in place of Hono's default
 * header keeps the response's headers a plain object, which the Node adapter writes on its fast
 * path.
 */
export const JSON_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json; charset=utf-8",
  ...SECURITY_HEADERS,
};

/** Security requirement of the routes that change data: `Authorization: Bearer <token>`. */
export const BEARER_SCHEME = "bearerAuth";
export const requiresToken = [{ [BEARER_SCHEME]: [] }];
