/** The owner-scoped routes' contracts: what the user a per-user token names may read. */
import { createRoute, z } from "@hono/zod-openapi";
import { json } from "../../openapi-helpers.js";
import { Account, problems } from "../../schemas.js";

/** Security scheme of the `/me` routes: a per-user token, not one of `API_TOKENS`. */
export const ACTOR_TOKEN_SCHEME = "actorToken";

export const listAccounts = createRoute({
  method: "get",
  path: "/me/accounts",
  tags: ["me"],
  security: [{ [ACTOR_TOKEN_SCHEME]: [] }],
  summary: "The accounts of the user the token names",
  description:
    "Runs in a transaction that acts for that user: PostgreSQL's row-level security policies " +
    "hold it to the user's own rows, whatever the query asks for. A missing or wrong per-user " +
    "token is 401; a token of a user without accounts (or a deleted user) gives an empty list.",
  responses: {
    200: json(z.object({ items: z.array(Account) }), "The user's accounts, oldest first"),
    ...problems(401, 429, 503),
  },
});
