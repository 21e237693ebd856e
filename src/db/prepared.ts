import { type Column, eq, getTableColumns, sql } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import type { AppDatabase } from "./client.js";

/**
 * A Drizzle query built once per database with `.prepare(name)` and reused: Drizzle skips
 * rebuilding the SQL on every call (about a third of a point query's client time, ADR 0003).
 * Use it for hot queries on the root `db`; inside a transaction build the query normally.
 *
 * @example
 * const userById = preparedQuery((db) =>
 *   db.select().from(users).where(eq(users.id, sql.placeholder("id"))).prepare("user_by_id"),
 * );
 * const [user] = await userById(db).execute({ id });
 */
export function preparedQuery<T>(build: (db: AppDatabase) => T): (db: AppDatabase) => T {
  const cache = new WeakMap<AppDatabase, T>();
  return (db) => {
    let query = cache.get(db);
    if (query === undefined) {
      query = build(db);
      cache.set(db, query);
    }
    return query;
  };
}

/** The part of a postgres.js `Sql` a point read uses. */
interface PostgresClient {
  unsafe(text: string, params: unknown[]): { values(): PromiseLike<unknown[][]> };
}

/**
 * The row of `table` whose `column` (its primary key, or another unique column) equals a value:
 * the hottest query of most services, so it skips Drizzle's executor on postgres.js (ADR 0009).
 *
 * The statement is Drizzle's own `select … from table where column = $1`, built once per
 * database. On the root `db` over postgres.js it goes straight to the pool — hooked, logged,
 * timed and prepared like any other query — and its row is decoded by the table's columns, as
 * Drizzle decodes it: the same object, for ~3 % fewer instructions and ~9 % less garbage per
 * request on `GET /users/{id}`. Elsewhere (PGlite, a transaction's `tx`) it is Drizzle's
 * prepared query. Drizzle's executor wraps driver errors in `DrizzleQueryError`; this path
 * rejects with the driver's error; `mapDatabaseError` maps both alike.
 *
 * @example
 * const userById = preparedFindBy(users, users.id, "user_by_id");
 * const user = await userById(db, id); // User | undefined
 */
export function preparedFindBy<T extends PgTable>(
  table: T,
  column: PgColumn,
  name: string,
): (db: AppDatabase, value: unknown) => Promise<T["$inferSelect"] | undefined> {
  // `select()` selects the table's columns in this order (Drizzle's `orderSelectedFields`); the
  // integration test compares this path's rows with Drizzle's.
  const columns: [string, Column][] = Object.entries(getTableColumns(table));
  const statement = preparedQuery((db) =>
    db
      .select()
      .from(table as PgTable)
      .where(eq(column, sql.placeholder("value")))
      .prepare(name),
  );
  return async (db, value) => {
    const client = (db as { $client?: Partial<PostgresClient> }).$client;
    if (typeof client?.unsafe !== "function") {
      const [row] = await statement(db).execute({ value });
      return row as T["$inferSelect"] | undefined;
    }
    const rows = await client.unsafe(statement(db).getQuery().sql, [value]).values();
    const values = rows[0];
    if (values === undefined) return undefined;
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const [key, decoder] = columns[i] as [string, Column];
      const raw = values[i];
      row[key] = raw === null ? null : decoder.mapFromDriverValue(raw);
    }
    return row as T["$inferSelect"];
  };
}
