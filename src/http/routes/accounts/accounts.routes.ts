/** The accounts routes' contracts (validation and the OpenAPI document); handlers are typed by them. */
import { createRoute, z } from "@hono/zod-openapi";
import { json, jsonBody, requiresToken } from "../../openapi-helpers.js";
import {
  Account,
  CreateAccount,
  IdParam,
  Pagination,
  pageOf,
  problems,
  Transfer,
} from "../../schemas.js";

export const create = createRoute({
  method: "post",
  path: "/accounts",
  tags: ["accounts"],
  security: requiresToken,
  summary: "Open an account for a user",
  description: "An unknown `userId` is 422 `foreign_key_violation`.",
  request: jsonBody(CreateAccount),
  responses: { 201: json(Account, "Created"), ...problems(400, 401, 413, 422, 429, 503) },
});

export const getOne = createRoute({
  method: "get",
  path: "/accounts/{id}",
  tags: ["accounts"],
  summary: "Get an account with its current balance",
  request: { params: IdParam },
  responses: { 200: json(Account, "The account"), ...problems(400, 404, 429, 503) },
});

export const listOfUser = createRoute({
  method: "get",
  path: "/users/{id}/accounts",
  tags: ["accounts"],
  summary: "A user's accounts",
  request: { params: IdParam },
  responses: {
    200: json(z.object({ items: z.array(Account) }), "The user's accounts"),
    ...problems(400, 404, 429, 503),
  },
});

export const listTransfers = createRoute({
  method: "get",
  path: "/accounts/{id}/transfers",
  tags: ["accounts"],
  summary: "Transfers in or out of an account, newest first (keyset pagination)",
  request: { params: IdParam, query: Pagination },
  responses: {
    200: json(pageOf(Transfer), "A page of transfers"),
    ...problems(400, 404, 429, 503),
  },
});
