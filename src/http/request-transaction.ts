/**
 * The transaction a request's write runs in. Its options come from `createApp`
 * (`transactionOptions`): retries, logging, and the settings the audit log's triggers read —
 * `app.actor` (the token's id) and `app.request_id` (docs/security.md, "Audit log"). A write
 * outside such a transaction is still audited, without them.
 */
import type { Context } from "hono";
import type { AppDatabase, AppTransaction } from "../db/client.js";
import { type TransactionOptions, withTransaction } from "../db/transaction.js";
import type { AppEnv } from "./router.js";

/** Options for the transactions of one request, by its id and actor (`c.var.actor`). */
export type TransactionOptionsFor = (requestId: string, actor?: string) => TransactionOptions;

/**
 * Runs `write` in a transaction with the request's options.
 *
 * @example
 * const user = await inRequestTransaction(c, db, transactionOptions, (tx) => createUser(tx, input));
 */
export function inRequestTransaction<T>(
  c: Context<AppEnv>,
  db: AppDatabase,
  transactionOptions: TransactionOptionsFor,
  write: (tx: AppTransaction) => Promise<T>,
): Promise<T> {
  return withTransaction(db, write, transactionOptions(c.var.requestId, c.var.actor));
}
