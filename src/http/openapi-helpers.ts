import type { z } from "@hono/zod-openapi";

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
 * `application/json`). `c.json(body, status, JSON_UTF8)`: replacing Hono's one default header
 * keeps the response's headers a plain object, which the Node adapter writes on its fast path.
 * With a second key Hono would build a WHATWG `Headers`: the x-request-id and the security
 * headers are added by the listener's response class instead (middleware/request-context.ts).
 */
export const JSON_UTF8 = { "Content-Type": "application/json; charset=utf-8" };

/** Security requirement of the routes that change data: `Authorization: Bearer <token>`. */
export const BEARER_SCHEME = "bearerAuth";
export const requiresToken = [{ [BEARER_SCHEME]: [] }];
