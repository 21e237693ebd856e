/**
 * Bulk writes that stay correct at any size: all rows or none, one call.
 *
 * Two ways in, picked by size (`method: "auto"`):
 * - COPY (`copy.ts`): the fast path for large loads, on postgres.js and PGlite alike;
 * - chunked multi-row INSERT: PostgreSQL's wire protocol caps one statement at 65,535 bind
 *   parameters (postgres.js at 65,533), so a large INSERT is split — *inside one
 *   transaction*. Used for small inputs, where it is as fast and needs no extra statement,
 *   for upserts, and for rows COPY can't express (SQL expressions as values, per-row
 *   defaults).
 * Either way a failure (a duplicate at row 60,000) rolls everything back.
 *
 * @example
 * const { count } = await bulkInsert(db, users, rows, { onConflict: "do-nothing" });
 */
import { getTableColumns, type SQL } from "drizzle-orm";
import type { IndexColumn, PgInsertValue, PgTable, PgUpdateSetSource } from "drizzle-orm/pg-core";
import type { AppDatabase, AppTransaction } from "./client.js";
import { affectedRows, copyRows, narrowed, planCopy, writtenColumns } from "./copy.js";
import { withTransaction } from "./transaction.js";

/** What to do when a row collides with a unique constraint. */
export type OnConflict<T extends PgTable> =
  /** Fail the whole load with `UniqueViolationError`. */
  | "error"
  /** Skip the colliding rows (not counted as inserted). */
  | "do-nothing"
  /** Upsert, as Drizzle's `onConflictDoUpdate`; always by INSERT. */
  | {
      target: IndexColumn | IndexColumn[];
      set: PgUpdateSetSource<T>;
      targetWhere?: SQL;
      setWhere?: SQL;
    };

/** The most parameters one statement may have: postgres.js refuses 65,534 or more. */
export const MAX_BIND_PARAMETERS = 65_533;

/**
 * From this many rows `method: "auto"` uses COPY; below it one INSERT is as fast
 * (bench/bulk.ts, docs/data-layer.md).
 */
export const COPY_THRESHOLD = 100;
/**
 * The same with `onConflict`, where COPY goes through a staging table: three more statements,
 * which pay off from about this many rows.
 */
export const STAGED_COPY_THRESHOLD = 500;

export interface BulkInsertOptions<T extends PgTable> {
  /** Default `"error"`: a conflict aborts the whole insert with `UniqueViolationError`. */
  onConflict?: OnConflict<T>;
  /**
   * `"auto"` (default): COPY from `COPY_THRESHOLD` rows (`STAGED_COPY_THRESHOLD` with
   * `"do-nothing"`), INSERT below, and INSERT for upserts and for rows COPY can't express.
   * `"copy"` insists on COPY (throws a `TypeError` if it can't), `"insert"` on chunked INSERT.
   */
  method?: "auto" | "copy" | "insert";
  /** Rows per INSERT statement; default: as many as fit under the bind-parameter limit. */
  chunkSize?: number;
}

export interface BulkInsertResult {
  /** Rows inserted (or updated by an upsert); rows skipped by `"do-nothing"` don't count. */
  count: number;
  method: "copy" | "insert";
}

/**
 * Rows per INSERT so that rows x columns stays under the bind-parameter limit.
 *
 * @example
 * chunkSizeFor(5); // 13,106 rows of 5 columns per statement
 */
export function chunkSizeFor(columnCount: number, requested?: number): number {
  const fits = Math.max(1, Math.floor(MAX_BIND_PARAMETERS / Math.max(1, columnCount)));
  return Math.max(1, Math.min(requested ?? fits, fits));
}

/**
 * Inserts `rows` within one transaction (a savepoint when `db` is already a transaction), by
 * COPY or chunked INSERT (see `method`). Errors are the typed errors of `errors.ts`.
 *
 * @example
 * const { count } = await bulkInsert(db, users, rows); // UniqueViolationError: nothing inserted
 * await bulkInsert(db, accounts, rows, {
 *   onConflict: { target: accounts.id, set: { balance: sql`excluded.balance` } },
 * });
 */
export async function bulkInsert<T extends PgTable>(
  db: AppDatabase | AppTransaction,
  table: T,
  rows: readonly PgInsertValue<T>[],
  options: BulkInsertOptions<T> = {},
): Promise<BulkInsertResult> {
  const method = options.method ?? "auto";
  const onConflict = options.onConflict ?? "error";
  if (rows.length === 0) return { count: 0, method: method === "copy" ? "copy" : "insert" };

  if (method === "copy" && typeof onConflict === "object") {
    throw new TypeError("upserts go by INSERT: Drizzle renders their SET against the whole table");
  }
  const copyConflict = typeof onConflict === "object" ? undefined : onConflict;
  const threshold = onConflict === "error" ? COPY_THRESHOLD : STAGED_COPY_THRESHOLD;
  const wantsCopy =
    copyConflict !== undefined &&
    (method === "copy" || (method === "auto" && rows.length >= threshold));
  const plan = wantsCopy ? planCopy(table, rows) : undefined;
  if (method === "copy" && typeof plan === "string") {
    throw new TypeError(`these rows can't be copied: ${plan}`);
  }

  return withTransaction(db, async (tx) => {
    if (typeof plan === "object" && copyConflict !== undefined) {
      return { count: await copyRows(tx, plan, copyConflict), method: "copy" };
    }
    return {
      count: await insertChunks(tx, table, rows, onConflict, options.chunkSize),
      method: "insert",
    };
  });
}

async function insertChunks<T extends PgTable>(
  tx: AppTransaction,
  table: T,
  rows: readonly PgInsertValue<T>[],
  onConflict: OnConflict<T>,
  chunkSize: number | undefined,
) {
  // An upsert's SET may name columns the rows don't write (and Drizzle adds `$onUpdateFn`
  // ones); Drizzle resolves them through the table's column list, so upserts keep all of it.
  const columns = typeof onConflict === "object" ? [] : writtenColumns(table, rows);
  const target = columns.length > 0 ? narrowed(table, columns) : table;
  const size = chunkSizeFor(
    columns.length || Object.keys(getTableColumns(table)).length,
    chunkSize,
  );
  let count = 0;
  for (let start = 0; start < rows.length; start += size) {
    const insert = tx.insert(target).values(rows.slice(start, start + size) as PgInsertValue<T>[]);
    const result =
      onConflict === "error"
        ? await insert
        : onConflict === "do-nothing"
          ? await insert.onConflictDoNothing()
          : await insert.onConflictDoUpdate(onConflict);
    count += affectedRows(result);
  }
  return count;
}
