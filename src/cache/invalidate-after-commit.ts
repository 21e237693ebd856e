/**
 * Writes whose rows the result cache may hold: run in a transaction whose `afterCommit` hook
 * invalidates their keys, so the invalidation follows the commit (never a rollback) and runs
 * before the write's caller gets its answer.
 */
import type { AppDatabase } from "../db/client.js";
import { type TransactionOptions, withTransaction } from "../db/transaction.js";
import type { CacheKey } from "./keys.js";
import type { ResultCache } from "./result-cache.js";

/**
 * Runs `write` and invalidates `keys` once it has committed. Called with a transaction as `db`,
 * the write becomes a savepoint and the invalidation waits for the outermost commit. Without a
 * cache it is just `write(db)`: no transaction is opened for a single statement.
 *
 * @example
 * const user = await invalidateAfterCommit(db, cache, [cacheKey.user(id)], (tx) =>
 *   updateUser(tx, id, patch),
 * );
 */
export function invalidateAfterCommit<T>(
  db: AppDatabase,
  cache: ResultCache | undefined,
  keys: readonly CacheKey[],
  write: (db: AppDatabase) => Promise<T>,
  options?: TransactionOptions,
): Promise<T> {
  if (!cache) return write(db);
  return withTransaction(
    db,
    async (tx, { afterCommit }) => {
      // Registered first: a write that fails after changing a row rolls back, and runs no hook.
      afterCommit(() => cache.invalidate(keys));
      return write(tx);
    },
    options,
  );
}
