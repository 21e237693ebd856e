import { createRoute, z } from "@hono/zod-openapi";
import { json, jsonBody } from "../../openapi-helpers.js";
import {
  Account,
  CreateAccount,
  IdParam,
  Pagination,
  pageOf,
  problems,
  Transfer,
} from "../../schemas.js";

export const createAccountRoute = createRoute({
  method: "post",
  path: "/accounts",
  tags: ["accounts"],
  summary: "Open an account for a user",
  description: "An unknown `userId` is 422 `foreign_key_violation`.",
  request: jsonBody(CreateAccount),
  responses: { 201: json(Account, "Created"), ...problems(400, 413, 422, 503) },
});

export const getAccountRoute = createRoute({
  method: "get",
  path: "/accounts/{id}",
  tags: ["accounts"],
  summary: "Get an account with its current balance",
  request: { params: IdParam },
  responses: { 200: json(Account, "The account"), ...problems(400, 404, 503) },
});

export const listUserAccountsRoute = createRoute({
  method: "get",
  path: "/users/{id}/accounts",
  tags: ["accounts"],
  summary: "A user's accounts",
  request: { params: IdParam },
  responses: {
    200: json(z.object({ items: z.array(Account) }), "The user's accounts"),
    ...problems(400, 404, 503),
  },
});

export const listAccountTransfersRoute = createRoute({
  method: "get",
  path: "/accounts/{id}/transfers",
  tags: ["accounts"],
  summary: "Transfers in or out of an account, newest first (keyset pagination)",
  request: { params: IdParam, query: Pagination },
  responses: { 200: json(pageOf(Transfer), "A page of transfers"), ...problems(400, 404, 503) },
});
