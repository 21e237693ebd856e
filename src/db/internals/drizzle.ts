/**
 * Everything the template uses of drizzle-orm beyond its documented API, in one place, checked
 * at start-up by `checkDrizzle()` (createDatabase calls it once per process). Listed in
 * docs/internals.md with what breaks if it changes. Nothing else in src/ may reach into Drizzle's
 * internals: a grep for `._.session`, `prepareQuery` or `drizzle:Columns` finds only this file.
 *
 * 1. The driver client behind a transaction (`tx._.session.client`): COPY runs on the
 *    transaction's own connection (copy.ts). `_` is declared public; `client` is not.
 * 2. A cursor's FETCH decoded by Drizzle (`session.prepareQuery` with the select's fields, and the
 *    builder's `joinsNotNullableMap`), so a streamed row equals `await query`'s (stream.ts).
 * 3. A table narrowed to some columns for INSERT (`Symbol.for("drizzle:Columns")`, copy.ts).
 * 4. Which client methods Drizzle's drivers call (`unsafe`/`.values()`/`begin`/`savepoint` on
 *    postgres.js, `query`/`transaction` on PGlite): the instrumented clients implement exactly
 *    those, and the check below runs Drizzle against recording fakes to prove it still does.
 */
import { type Column, type SQL, sql } from "drizzle-orm";
import type { PgTable, SelectedFieldsOrdered } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { npmVersion } from "drizzle-orm/version";
import type { AppTransaction } from "../client.js";
import type { InstrumentedPgliteTransaction } from "../driver/pglite.js";
import type { InstrumentedPostgresTransaction } from "../driver/postgres.js";

/** The drizzle-orm releases these internals were read from and tested against. */
export const TESTED_DRIZZLE = /^0\.45\./;

/** Where Drizzle keeps a table's columns (a registered symbol). */
const TABLE_COLUMNS = Symbol.for("drizzle:Columns");

/** The instrumented client a transaction's queries go through (postgres.js or PGlite). */
export function driverClientOf(
  tx: AppTransaction,
): InstrumentedPostgresTransaction | InstrumentedPgliteTransaction {
  const client = (tx._.session as unknown as { client?: unknown }).client;
  if (
    typeof client === "object" &&
    client !== null &&
    ("copyFrom" in client || "query" in client)
  ) {
    return client as InstrumentedPostgresTransaction | InstrumentedPgliteTransaction;
  }
  throw new DrizzleInternalsError("tx._.session.client is not the template's transaction client");
}

/** What a cursor reader needs of a Drizzle select builder. */
export interface CursorSource {
  toSQL(): { sql: string; params: unknown[] };
}

/**
 * A prepared query that runs `fetchSql` on `tx` and decodes its rows as `source`'s own rows
 * (fields in Drizzle's select-list order, left-joined tables nulled as Drizzle does).
 */
export function fetchDecodedAs<Row>(
  tx: AppTransaction,
  source: CursorSource,
  fields: SelectedFieldsOrdered,
  fetchSql: string,
): { execute(): Promise<Row[]> } {
  const prepared = tx._.session.prepareQuery<{ execute: Row[]; all: unknown; values: unknown }>(
    { sql: fetchSql, params: [] },
    fields,
    undefined,
    true,
  );
  Object.assign(prepared, {
    joinsNotNullableMap: (source as unknown as { joinsNotNullableMap?: unknown })
      .joinsNotNullableMap,
  });
  return prepared;
}

/** Runs a statement without result fields on `tx` (DECLARE / CLOSE of a cursor). */
export function executeRaw(tx: AppTransaction, text: string, params: unknown[]): Promise<unknown> {
  return tx._.session.prepareQuery({ sql: text, params }, undefined, undefined, false).execute();
}

/** `table` with only `columns` as its insertable columns (a narrower INSERT column list). */
export function withColumns<T extends PgTable>(table: T, columns: Record<string, Column>): T {
  return Object.create(table, { [TABLE_COLUMNS]: { value: columns } });
}

export class DrizzleInternalsError extends Error {
  override name = "DrizzleInternalsError";
  constructor(detail: string) {
    super(
      `drizzle-orm ${npmVersion} no longer has the shape the template relies on (${detail}); ` +
        "see docs/internals.md for what uses it and how to adapt src/db/internals/drizzle.ts",
    );
  }
}

export interface DrizzleCheck {
  version: string;
  /** False for a release the internals were not tested against (the shape check still passed). */
  tested: boolean;
}

let checked: Promise<DrizzleCheck> | undefined;

/**
 * Runs Drizzle's drivers against recording fakes (no database involved) and checks every
 * internal above. Rejects with `DrizzleInternalsError` naming what changed; memoised per process.
 */
export function checkDrizzle(): Promise<DrizzleCheck> {
  checked ??= runChecks().then(() => ({
    version: npmVersion,
    tested: TESTED_DRIZZLE.test(npmVersion),
  }));
  return checked;
}

async function runChecks() {
  const calls: string[] = [];
  const fakeQuery = (rows: unknown[]) => {
    const query = {
      values: () => {
        calls.push("values");
        return query;
      },
      // biome-ignore lint/suspicious/noThenProperty: a fake of postgres.js's lazy query.
      then: (resolve: (value: unknown) => unknown) => resolve(rows),
    };
    return query;
  };
  const fakeTx = {
    unsafe: () => {
      calls.push("tx.unsafe");
      return fakeQuery([]);
    },
    savepoint: (callback: (tx: unknown) => unknown) => {
      calls.push("savepoint");
      return Promise.resolve(callback(fakeTx));
    },
    copyFrom: () => undefined,
  };
  const fakePool = {
    options: { parsers: {}, serializers: {} },
    unsafe: () => {
      calls.push("unsafe");
      return fakeQuery([]);
    },
    begin: (callback: (tx: unknown) => unknown) => {
      calls.push("begin");
      return Promise.resolve(callback(fakeTx));
    },
  };
  const db = drizzlePostgres({ client: fakePool as never });
  await db.execute(sql`select 1`);
  await db.select({ one: sql<number>`1` }).from(sql`(select 1) as t` as SQL as never);
  let sessionClient: unknown;
  await db.transaction(async (tx) => {
    sessionClient = (tx._.session as unknown as { client?: unknown }).client;
    await tx.execute(sql`select 1`);
    await tx.transaction(async (sp) => {
      await sp.execute(sql`select 1`);
    });
  });
  const expected = ["unsafe", "unsafe", "values", "begin", "tx.unsafe", "savepoint", "tx.unsafe"];
  if (calls.join() !== expected.join()) {
    throw new DrizzleInternalsError(`postgres-js driver calls [${calls}], expected [${expected}]`);
  }
  if (sessionClient !== fakeTx) throw new DrizzleInternalsError("tx._.session.client");
  if (
    typeof (db.select().from(sql`t` as never) as unknown as Record<string, unknown>)
      .joinsNotNullableMap !== "object"
  ) {
    throw new DrizzleInternalsError("a select builder's joinsNotNullableMap");
  }
  if (
    typeof (db as unknown as { _: { session: { prepareQuery?: unknown } } })._.session
      .prepareQuery !== "function"
  ) {
    throw new DrizzleInternalsError("session.prepareQuery");
  }
  await checkPgliteDriver();
}

async function checkPgliteDriver() {
  const calls: string[] = [];
  const result = { rows: [], fields: [], affectedRows: 0 };
  const fakeTx = {
    query: async () => {
      calls.push("tx.query");
      return result;
    },
  };
  const fake = {
    query: async () => {
      calls.push("query");
      return result;
    },
    transaction: async (callback: (tx: unknown) => unknown) => {
      calls.push("transaction");
      return callback(fakeTx);
    },
  };
  const db = drizzlePglite({ client: fake as never });
  await db.execute(sql`select 1`);
  let sessionClient: unknown;
  await db.transaction(async (tx) => {
    sessionClient = (tx._.session as unknown as { client?: unknown }).client;
    await tx.execute(sql`select 1`);
  });
  const expected = ["query", "transaction", "tx.query"];
  if (calls.join() !== expected.join()) {
    throw new DrizzleInternalsError(`pglite driver calls [${calls}], expected [${expected}]`);
  }
  if (sessionClient !== fakeTx) throw new DrizzleInternalsError("pglite tx._.session.client");
}
