/**
 * Iterating a large query with bounded memory: a server-side cursor read in batches.
 *
 * `streamQuery` takes a Drizzle select, declares a cursor for its SQL (`DECLARE ... CURSOR FOR`,
 * with the query's bound parameters) and `FETCH`es `batchSize` rows per round trip. Each batch
 * is decoded by Drizzle itself — the same driver parsers and the same field mapping as
 * `await query` — so a streamed row equals the row the query would have returned. Memory holds
 * one batch, whatever the result's size. Breaking out of the loop, or throwing in it, closes the
 * cursor and ends its transaction, so the connection goes back to the pool.
 *
 * One mechanism on both drivers. A cursor lives in a transaction: given `db`, the stream opens
 * its own, kept open while you iterate (don't linger: it holds a pooled connection — on PGlite
 * the only one, so a query on the root db inside the loop waits for it and fails with
 * `PoolTimeoutError`); given a `tx`, it reads inside that transaction.
 *
 * Limits: select builders only (`db.select()...`, joins, partial/nested selections, set
 * operations); not the relational API (`db.query.*.findMany`), which doesn't expose its fields.
 * Abandoning the iterator without finishing, `break`ing or `return()`ing it leaves the
 * transaction open: use `for await`, or set `idleInTransactionTimeoutMs`.
 *
 * @example
 * for await (const user of streamQuery(db, db.select().from(users).orderBy(users.id))) {
 *   await writeCsvLine(user);
 * }
 */
import { randomBytes } from "node:crypto";
import { Column, getTableColumns, is, SQL, Subquery, Table } from "drizzle-orm";
import { PgTransaction, type SelectedFieldsOrdered } from "drizzle-orm/pg-core";
import type { AppDatabase, AppTransaction } from "./client.js";
import { mapDatabaseError } from "./errors.js";
import { executeRaw, fetchDecodedAs } from "./internals/drizzle.js";
import { type TransactionOptions, withTransaction } from "./transaction.js";

/** What `streamQuery` needs of a Drizzle select builder. */
export interface StreamableQuery<Row> extends PromiseLike<Row[]> {
  toSQL(): { sql: string; params: unknown[] };
  readonly _: { readonly config: { fields: Record<string, unknown> } };
}

export interface StreamOptions {
  /** Rows per FETCH (default 1,000): the memory bound, and the number of round trips. */
  batchSize?: number;
  /**
   * For the stream's own transaction (ignored when streaming inside a `tx`), e.g.
   * `{ idleInTransactionTimeoutMs: 60_000 }` so the server ends one whose reader stalled.
   */
  transaction?: Pick<
    TransactionOptions,
    "isolationLevel" | "accessMode" | "statementTimeoutMs" | "idleInTransactionTimeoutMs"
  >;
}

/**
 * Yields the rows of `query`, fetched `batchSize` at a time through a server-side cursor, inside
 * `db` when it is a transaction, else inside a transaction of its own.
 *
 * @example
 * const rows = streamQuery(db, db.select().from(users), { batchSize: 5_000 });
 * for await (const user of rows) if (await exported(user)) break; // closes the cursor
 */
export async function* streamQuery<Row>(
  db: AppDatabase | AppTransaction,
  query: StreamableQuery<Row>,
  options: StreamOptions = {},
): AsyncGenerator<Row, void, undefined> {
  const batchSize = options.batchSize ?? 1_000;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError("batchSize must be an integer >= 1");
  }
  const batches = is(db, PgTransaction)
    ? readCursor<Row>(db as AppTransaction, query, batchSize)
    : throughTransaction(db as AppDatabase, (tx) => readCursor<Row>(tx, query, batchSize), {
        ...options.transaction,
        // Rows already handed out can't be taken back: no transparent retry.
        maxAttempts: 1,
      });
  try {
    for await (const batch of batches) yield* batch;
  } catch (error) {
    throw mapDatabaseError(error);
  }
}

/** The cursor's batches, decoded by Drizzle's session for `tx` (the same path as `await query`). */
async function* readCursor<Row>(
  tx: AppTransaction,
  query: StreamableQuery<Row>,
  batchSize: number,
): AsyncGenerator<Row[]> {
  const { sql: text, params } = query.toSQL();
  // Unique per call, so that several streams can share one transaction.
  const cursor = `stream_${randomBytes(6).toString("hex")}`;

  await executeRaw(tx, `declare ${cursor} no scroll cursor for ${text}`, params);
  const fetch = fetchDecodedAs<Row>(
    tx,
    query,
    orderedFields(query._.config.fields),
    `fetch forward ${batchSize} from ${cursor}`,
  );

  // False while a FETCH is in flight: after a failed one the transaction is aborted and CLOSE
  // would only fail again.
  let healthy = false;
  try {
    for (;;) {
      healthy = false;
      const rows = await fetch.execute();
      healthy = true;
      if (rows.length > 0) yield rows;
      if (rows.length < batchSize) break;
    }
  } finally {
    // Frees the cursor now, not at the end of a caller's (possibly long) transaction.
    if (healthy) await executeRaw(tx, `close ${cursor}`, []);
  }
}

/**
 * Drizzle's order of a selection's columns (its `orderSelectedFields`, which is internal): the
 * SELECT list it generates, so the n-th value of a fetched row belongs to the n-th field here.
 */
function orderedFields(
  fields: Record<string, unknown>,
  path: string[] = [],
): SelectedFieldsOrdered {
  return Object.entries(fields).flatMap(([name, field]): SelectedFieldsOrdered => {
    const at = [...path, name];
    if (is(field, Column) || is(field, SQL) || is(field, SQL.Aliased) || is(field, Subquery)) {
      return [{ path: at, field } as SelectedFieldsOrdered[number]];
    }
    if (is(field, Table)) return orderedFields(getTableColumns(field), at);
    return orderedFields(field as Record<string, unknown>, at);
  });
}

/**
 * Runs `produce` inside a transaction on `db` and hands its values to the caller one at a time.
 * The transaction callback stays pending while the caller holds a value; when the caller stops
 * (loop finished, `break`, or a throw), the producer is told to stop, and the generator only
 * returns once the transaction has ended — the connection is back in the pool by then.
 */
async function* throughTransaction<T>(
  db: AppDatabase,
  produce: (tx: AppTransaction) => AsyncGenerator<T>,
  options: TransactionOptions,
): AsyncGenerator<T> {
  type Offer = { value: T } | { done: true } | { error: unknown };
  let offer = defer<Offer>();
  let demand = defer<boolean>();
  const finished = withTransaction(
    db,
    async (tx) => {
      for await (const value of produce(tx)) {
        offer.resolve({ value });
        if (!(await demand.promise)) return; // the caller stopped: `return()` closes `produce`
      }
    },
    options,
  ).then(
    () => offer.resolve({ done: true }),
    (error: unknown) => offer.resolve({ error }),
  );
  try {
    for (;;) {
      const next = await offer.promise;
      if ("error" in next) throw next.error;
      if ("done" in next) return;
      yield next.value;
      offer = defer();
      const asked = demand;
      demand = defer();
      asked.resolve(true);
    }
  } finally {
    demand.resolve(false);
    await finished;
  }
}

function defer<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
