/** The transfers routes' contracts (validation and the OpenAPI document); handlers are typed by them. */
import { createRoute } from "@hono/zod-openapi";
import { json, jsonBody, requiresToken } from "../../openapi-helpers.js";
import { CreateTransfer, IdempotencyHeaders, IdParam, problems, Transfer } from "../../schemas.js";

export const create = createRoute({
  method: "post",
  path: "/transfers",
  tags: ["transfers"],
  security: requiresToken,
  summary: "Move money between two accounts of the same currency",
  description:
    "Debit and credit in one transaction. With `Idempotency-Key`, replaying the same body returns " +
    "the original transfer (201, same id) and moves nothing, even concurrently; the same key with " +
    "a different body is 409 `idempotency_key_reused`. A failed request stores nothing, so its " +
    "key stays free.",
  request: { headers: IdempotencyHeaders, ...jsonBody(CreateTransfer) },
  responses: {
    201: json(Transfer, "Created (or replayed)"),
    ...problems(400, 401, 404, 409, 413, 422, 429, 503),
  },
});

export const getOne = createRoute({
  method: "get",
  path: "/transfers/{id}",
  tags: ["transfers"],
  summary: "Get a transfer",
  request: { params: IdParam },
  responses: { 200: json(Transfer, "The transfer"), ...problems(400, 404, 429, 503) },
});
