/**
 * The users routes' contracts: path, request schemas and every response, from which both
 * validation and the OpenAPI document are generated. Handlers are typed against these.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { json, jsonBody, requiresToken } from "../../openapi-helpers.js";
import {
  BulkUsers,
  CreateUser,
  IdParam,
  Pagination,
  pageOf,
  problems,
  UpdateUser,
  User,
} from "../../schemas.js";

export const create = createRoute({
  method: "post",
  path: "/users",
  tags: ["users"],
  security: requiresToken,
  summary: "Create a user",
  description: "Email is trimmed and unique case-insensitively. Unknown fields are rejected.",
  request: jsonBody(CreateUser),
  responses: { 201: json(User, "Created"), ...problems(400, 401, 409, 413, 429, 503) },
});

export const list = createRoute({
  method: "get",
  path: "/users",
  tags: ["users"],
  summary: "List users, oldest first (keyset pagination)",
  request: { query: Pagination },
  responses: { 200: json(pageOf(User), "A page of users"), ...problems(400, 429, 503) },
});

export const getOne = createRoute({
  method: "get",
  path: "/users/{id}",
  tags: ["users"],
  summary: "Get a user",
  request: { params: IdParam },
  responses: { 200: json(User, "The user"), ...problems(400, 404, 429, 503) },
});

export const update = createRoute({
  method: "patch",
  path: "/users/{id}",
  tags: ["users"],
  security: requiresToken,
  summary: "Update a user's email and/or name",
  request: { params: IdParam, ...jsonBody(UpdateUser) },
  responses: {
    200: json(User, "The updated user"),
    ...problems(400, 401, 404, 409, 413, 429, 503),
  },
});

export const remove = createRoute({
  method: "delete",
  path: "/users/{id}",
  tags: ["users"],
  security: requiresToken,
  summary: "Delete a user without accounts",
  request: { params: IdParam },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 404, 409, 429, 503),
  },
});

export const bulkCreate = createRoute({
  method: "post",
  path: "/users/bulk",
  tags: ["users"],
  security: requiresToken,
  summary: "Create up to 10,000 users, all or nothing",
  description:
    "An invalid item is a 400 naming its index (`users.<i>.email`); a duplicate email, in the " +
    "request or already stored, is a 409 and nothing is inserted. Bodies up to 16 MiB.",
  request: jsonBody(BulkUsers),
  responses: {
    201: json(z.object({ inserted: z.int() }), "Inserted"),
    ...problems(400, 401, 409, 413, 429, 503),
  },
});
