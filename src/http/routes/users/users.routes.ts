import { createRoute, z } from "@hono/zod-openapi";
import { jsonBody as body, json } from "../../openapi-helpers.js";
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

export const createUserRoute = createRoute({
  method: "post",
  path: "/users",
  tags: ["users"],
  summary: "Create a user",
  description: "Email is trimmed and unique case-insensitively. Unknown fields are rejected.",
  request: body(CreateUser),
  responses: { 201: json(User, "Created"), ...problems(400, 409, 413, 503) },
});

export const listUsersRoute = createRoute({
  method: "get",
  path: "/users",
  tags: ["users"],
  summary: "List users, oldest first (keyset pagination)",
  request: { query: Pagination },
  responses: { 200: json(pageOf(User), "A page of users"), ...problems(400, 503) },
});

export const getUserRoute = createRoute({
  method: "get",
  path: "/users/{id}",
  tags: ["users"],
  summary: "Get a user",
  request: { params: IdParam },
  responses: { 200: json(User, "The user"), ...problems(400, 404, 503) },
});

export const updateUserRoute = createRoute({
  method: "patch",
  path: "/users/{id}",
  tags: ["users"],
  summary: "Update a user's email and/or name",
  request: { params: IdParam, ...body(UpdateUser) },
  responses: { 200: json(User, "The updated user"), ...problems(400, 404, 409, 413, 503) },
});

export const deleteUserRoute = createRoute({
  method: "delete",
  path: "/users/{id}",
  tags: ["users"],
  summary: "Delete a user without accounts",
  request: { params: IdParam },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 404, 409, 503),
  },
});

export const bulkUsersRoute = createRoute({
  method: "post",
  path: "/users/bulk",
  tags: ["users"],
  summary: "Create up to 10,000 users, all or nothing",
  description:
    "An invalid item is a 400 naming its index (`users.<i>.email`); a duplicate email, in the " +
    "request or already stored, is a 409 and nothing is inserted. Bodies up to 16 MiB.",
  request: body(BulkUsers),
  responses: {
    201: json(z.object({ inserted: z.int() }), "Inserted"),
    ...problems(400, 409, 413, 503),
  },
});
