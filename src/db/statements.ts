/**
 * Named prepared statements, the idiomatic Drizzle way (`.prepare(name)`), built once per
 * database and reused: Drizzle skips rebuilding the SQL on every call (about a third of a point
 * query's client time, ADR 0003), the server parses and plans the statement once per connection,
 * and the name becomes the query's `operation` in the query log, metrics and traces.
 *
 * Use it for hot queries on the root `db`. Inside a transaction build the query normally (a
 * statement prepared on `db` runs on the pool, not on the transaction's connection). With read
 * replicas a select is prepared once per server and each call runs where a read would go now
 * (replicas.ts); anything else is prepared on the primary.
 *
 * @example
 * const userById = preparedStatement("user_by_id", (db, name) =>
 *   db.select().from(users).where(eq(users.id, sql.placeholder("id"))).prepare(name),
 * );
 * const [user] = await userById(db).execute({ id });
 */
import type { AppDatabase } from "./client.js";
import { contextOf } from "./driver/context.js";
import { isReadOnlyStatement, primaryOf, readTarget } from "./replicas.js";

/** What a Drizzle prepared query offers that this helper needs. */
interface Prepared {
  getQuery(): { sql: string };
}

export function preparedStatement<T extends Prepared>(
  name: string,
  build: (db: AppDatabase, name: string) => T,
): (db: AppDatabase) => T {
  const cache = new WeakMap<AppDatabase, T>();
  const on = (db: AppDatabase) => {
    let query = cache.get(db);
    if (query === undefined) {
      query = build(db, name);
      cache.set(db, query);
      contextOf(db)?.statementNames.set(query.getQuery().sql, name);
    }
    return query;
  };
  let reads: boolean | undefined;
  return (db) => {
    reads ??= isReadOnlyStatement(on(primaryOf(db)).getQuery().sql);
    return on(reads ? readTarget(db) : primaryOf(db));
  };
}
