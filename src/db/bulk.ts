/**
 * Bulk writes that stay correct at any size.
 *
 * PostgreSQL's wire protocol caps one statement at 65,535 bind parameters (postgres.js throws
 * past 65,534; Drizzle overflows the stack before that on very wide inserts), so a large insert
 * must be split. `bulkInsert` chunks under the limit *inside one transaction*: all rows or none.
 *
 * @example
 * const { count } = await bulkInsert(db, users, rows, { onConflict: "do-nothing" });
 */
import { getTableColumns, sql } from "drizzle-orm";
import type { PgTable, PgUpdateSetSource } from "drizzle-orm/pg-core";
import type { AppDatabase, AppTransaction } from "./client.js";
import { withTransaction } from "./transaction.js";

/** postgres.js refuses statements with more than this many parameters. */
export const MAX_BIND_PARAMETERS = 65_534;

export type OnConflict<T extends PgTable> =
  | "error"
  | "do-nothing"
  | {
      target: PgTable["_"]["columns"][string] | PgTable["_"]["columns"][string][];
      set: PgUpdateSetSource<T>;
    };

export interface BulkInsertOptions<T extends PgTable> {
  /** Default `"error"`: a conflict aborts the whole insert. */
  onConflict?: OnConflict<T>;
  /** Rows per statement; default: as many as fit under the bind-parameter limit. */
  chunkSize?: number;
}

/** Rows per INSERT so that rows x columns stays under the bind-parameter limit. */
export function chunkSizeFor(columnCount: number, requested?: number): number {
  const fits = Math.max(1, Math.floor(MAX_BIND_PARAMETERS / Math.max(1, columnCount)));
  return Math.max(1, Math.min(requested ?? fits, fits));
}

/**
 * Inserts `rows` in chunks within one transaction (a savepoint when `db` is already a
 * transaction). Returns how many rows were actually inserted (skipped conflicts not counted).
 */
export async function bulkInsert<T extends PgTable>(
  db: AppDatabase | AppTransaction,
  table: T,
  rows: readonly T["$inferInsert"][],
  options: BulkInsertOptions<T> = {},
): Promise<{ count: number }> {
  if (rows.length === 0) return { count: 0 };
  const size = chunkSizeFor(Object.keys(getTableColumns(table)).length, options.chunkSize);
  const onConflict = options.onConflict ?? "error";
  return withTransaction(db, async (tx) => {
    let count = 0;
    for (let start = 0; start < rows.length; start += size) {
      const insert = tx
        .insert(table)
        .values(rows.slice(start, start + size) as T["$inferInsert"][]);
      const statement =
        onConflict === "error"
          ? insert
          : onConflict === "do-nothing"
            ? insert.onConflictDoNothing()
            : insert.onConflictDoUpdate({ target: onConflict.target, set: onConflict.set });
      // RETURNING a constant counts inserted rows the same way on every driver.
      const inserted = await statement.returning({ one: sqlOne });
      count += inserted.length;
    }
    return { count };
  });
}

const sqlOne = sql<number>`1`;
