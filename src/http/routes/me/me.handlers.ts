/** The `/me` routes' handlers: each runs `withActor` for the user `requireActorToken` found. */
import { withActor } from "../../../db/actor.js";
import type { AppDatabase } from "../../../db/client.js";
import { listActorAccounts } from "../../../db/repositories/accounts.js";
import { JSON_UTF8 } from "../../openapi-helpers.js";
import type { AppRouteHandler } from "../../router.js";
import { toAccountDto } from "../accounts/accounts.handlers.js";
import type * as routes from "./me.routes.js";

export interface MeDeps {
  db: AppDatabase;
}

export function createMeHandlers({ db }: MeDeps) {
  const listAccounts: AppRouteHandler<typeof routes.listAccounts> = async (c) => {
    // Set by requireActorToken, which answers 401 before the handler without it.
    const userId = c.var.actingUserId as string;
    const items = await withActor(db, userId, (tx) => listActorAccounts(tx), {
      accessMode: "read only",
    });
    return c.json({ items: items.map(toAccountDto) }, 200, JSON_UTF8);
  };
  return { listAccounts };
}
