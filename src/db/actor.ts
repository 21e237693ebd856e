/**
 * Transactions that act for one user, held to that user's rows by row-level security.
 *
 * `withActor(db, userId, fn)` is `withTransaction` whose first statement switches the
 * transaction to the actor role (`ledger_actor`) and names the user, both with
 * `set_config(..., true)`: they are SET LOCAL, so COMMIT or ROLLBACK undoes them and the pooled
 * connection goes back to the next caller as the app's own role with no user. One request's
 * identity can't leak into another's, whatever the callback does or throws.
 *
 * Inside, the accounts and transfers policies (src/db/schema) let the transaction see and change
 * only the user's accounts and the transfers in or out of them; every other table the actor has
 * no privilege on is refused (42501). Queries through the root `db` outside `withActor` are the
 * service path: the app's role, every row, as before.
 *
 * @example
 * const mine = await withActor(db, userId, (tx) => tx.select().from(accounts));
 * // no WHERE user_id = ...: the policy adds it, and a forgotten filter can't leak other users' rows
 */
import { is, sql } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import type { AppDatabase, AppTransaction } from "./client.js";
import { ACTOR_SETTING, actorRole } from "./schema/actor.js";
import {
  type TransactionCallback,
  type TransactionOptions,
  withTransaction,
} from "./transaction.js";

/** The role the transaction switches to; the policies name it. */
export const ACTOR_ROLE = actorRole.name;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Runs `callback` in a transaction acting for `userId` (see the module comment). Retries,
 * timeouts and hooks are `withTransaction`'s; each retry switches again, in its fresh
 * transaction.
 *
 * Only on the root `db`: inside an open transaction the switch would outlive a savepoint and
 * turn the rest of the caller's transaction into the actor's, so that is refused.
 */
export async function withActor<T>(
  db: AppDatabase,
  userId: string,
  callback: TransactionCallback<T>,
  options: TransactionOptions = {},
): Promise<T> {
  if (is(db, PgTransaction)) {
    throw new TypeError("withActor opens its own transaction: call it with the root db, not a tx");
  }
  // Checked here so that a bad id is a caller's bug, not a cast error inside every policy.
  if (!UUID.test(userId)) throw new TypeError("withActor: userId must be a UUID");
  return withTransaction(
    db,
    async (tx: AppTransaction, context) => {
      // One round trip; `role` through set_config is SET LOCAL ROLE with a bound value.
      await tx.execute(
        sql`select set_config('role', ${ACTOR_ROLE}, true), set_config(${ACTOR_SETTING}, ${userId}, true)`,
      );
      return callback(tx, context);
    },
    options,
  );
}
