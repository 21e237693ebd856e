/**
 * `COPY ... FROM STDIN` for large loads, driven by the Drizzle table definition: the columns,
 * their database names and each value's `mapToDriverValue` (timestamps, JSON, bigint mode, ...)
 * come from the schema, so a COPY stores exactly what `db.insert(table).values(rows)` would.
 *
 * COPY streams rows in PostgreSQL's text format with no bind-parameter limit and no per-row
 * statement overhead: several times faster than multi-row INSERT. It runs on both drivers —
 * postgres.js writes the stream to the socket (`.writable()`), PGlite reads it from its
 * `/dev/blob` device. It can't say `DEFAULT` for one row and a value for another, nor take SQL
 * expressions as values; `planCopy` reports such rows and `bulkInsert` then uses INSERT.
 *
 * Use it through `bulkInsert(db, table, rows)` (which picks COPY for large inputs); the pieces
 * here are exported for tests and for callers that build their own loaders.
 *
 * @example
 * const plan = planCopy(users, rows);
 * if (typeof plan !== "string") await withTransaction(db, (tx) => copyRows(tx, plan));
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type Column, getTableColumns, is, SQL, sql } from "drizzle-orm";
import { getTableConfig, type PgInsertValue, type PgTable } from "drizzle-orm/pg-core";
import type { AppTransaction } from "./client.js";
import { InvalidInputError } from "./errors.js";
import { driverClientOf, withColumns } from "./internals/drizzle.js";

/**
 * What COPY can do with a row that collides with a unique constraint: fail the load, or skip
 * the row (through a staging table). Upserts go by INSERT, see `bulkInsert`.
 */
export type CopyConflict = "error" | "do-nothing";

/** A column of the table, under the property name rows use for it. */
export interface WrittenColumn {
  key: string;
  column: Column;
}

/** The rows of one load, encoded lazily, with the columns they fill. */
export interface CopyPlan<T extends PgTable> {
  table: T;
  /** Columns in table order; the rest get their SQL default. */
  columns: WrittenColumn[];
  rows: readonly PgInsertValue<T>[];
}

/**
 * The columns a load writes, in table order: those some row sets, and those Drizzle computes
 * in JavaScript when a row leaves them out (`$defaultFn`, or `$onUpdateFn` without an SQL
 * default). Every other column is left to its SQL default. Generated columns are never
 * written (Drizzle's `shouldDisableInsert`).
 */
export function writtenColumns<T extends PgTable>(
  table: T,
  rows: readonly PgInsertValue<T>[],
): WrittenColumn[] {
  return Object.entries(getTableColumns(table))
    .filter(([, column]) => column.generated === undefined || column.generated.type === "byDefault")
    .filter(
      ([key, column]) =>
        computedDefault(column) ||
        rows.some((row) => (row as Record<string, unknown>)[key] !== undefined),
    )
    .map(([key, column]) => ({ key, column }));
}

const computedDefault = (column: Column) =>
  column.defaultFn !== undefined ||
  (column.default === undefined && column.onUpdateFn !== undefined);

/**
 * Decides whether `rows` can be copied. COPY has no per-row `DEFAULT` and takes no SQL
 * expressions, so it can't express a column set in some rows and left to its SQL default in
 * others, or an SQL value; returns the reason then.
 */
export function planCopy<T extends PgTable>(
  table: T,
  rows: readonly PgInsertValue<T>[],
): CopyPlan<T> | string {
  const columns = writtenColumns(table, rows);
  for (const { key, column } of columns) {
    if (computedDefault(column)) {
      if (is((column.defaultFn ?? column.onUpdateFn)?.(), SQL)) {
        return `column ${column.name} has a JavaScript default that returns SQL`;
      }
      continue;
    }
    for (const row of rows) {
      const value = (row as Record<string, unknown>)[key];
      if (is(value, SQL)) return `column ${column.name} has an SQL expression as value`;
      if (value === undefined && column.hasDefault) {
        return `column ${column.name} is set in some rows and left to its SQL default in others`;
      }
    }
  }
  return { table, columns, rows };
}

/**
 * Copies the planned rows into the table with `tx`'s connection; returns how many rows were
 * inserted. The rows go into a temporary staging table of `text` columns, then into the table by
 * one `INSERT ... SELECT` that casts each column to its type (with `"do-nothing"`, `ON CONFLICT
 * DO NOTHING`), so the table's own defaults, identity columns and constraints apply as for a
 * plain INSERT, and every error (a duplicate, a bad value) is that INSERT's, with its SQLSTATE.
 *
 * Why the staging table: a COPY into the real table can fail after the client has sent its last
 * row, and postgres.js (3.4) then never finishes the COPY's stream nor surfaces the error: the
 * caller would wait forever (docs/upstream/postgres-js-copy-error.md). A COPY into `text`
 * columns can't fail on a value (`encodeCopyValue` refuses NUL, the one character text can't
 * hold), so the stream always finishes. Run it in a transaction: a failure leaves nothing.
 */
export async function copyRows<T extends PgTable>(
  tx: AppTransaction,
  plan: CopyPlan<T>,
  onConflict: CopyConflict = "error",
): Promise<number> {
  if (plan.rows.length === 0) return 0;
  const { name, schema } = getTableConfig(plan.table);
  const target = schema ? `${quoteIdent(schema)}.${quoteIdent(name)}` : quoteIdent(name);
  const names = plan.columns.map(({ column }) => column.name);
  const types = await columnTypes(tx, target, names);
  const columnList = names.map(quoteIdent).join(", ");
  const stage = quoteIdent(`bulk_stage_${randomBytes(6).toString("hex")}`);
  await tx.execute(
    sql.raw(
      `create temp table ${stage} (${names.map((n) => `${quoteIdent(n)} text`).join(", ")}) ` +
        "on commit drop",
    ),
  );
  await copyText(tx, `copy ${stage} (${columnList})`, plan);
  const casts = names.map((n) => `${quoteIdent(n)}::${types.get(n)}`).join(", ");
  const insert = tx
    .insert(narrowed(plan.table, plan.columns))
    .select(sql.raw(`select ${casts} from ${stage}`) as SQL);
  const result = await (onConflict === "do-nothing" ? insert.onConflictDoNothing() : insert);
  await tx.execute(sql.raw(`drop table ${stage}`));
  return affectedRows(result);
}

/** Each column's type as SQL spells it (`format_type`: quoted, with its modifiers). */
async function columnTypes(tx: AppTransaction, target: string, names: string[]) {
  const result: unknown = await tx.execute(
    sql`select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
        where attrelid = ${target}::regclass and attnum > 0 and not attisdropped`,
  );
  // postgres.js returns the rows, PGlite a result holding them.
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
    name: string;
    type: string;
  }[];
  const types = new Map(rows.map((row) => [row.name, row.type]));
  for (const name of names) {
    if (!types.has(name)) throw new Error(`column ${name} not found in ${target}`);
  }
  return types;
}

/**
 * The table as Drizzle's INSERT should see it: only the columns this load writes. Drizzle lists
 * every insertable column in every row, `default` for the ones a row leaves out; narrowing the
 * list makes each statement a fraction of the size, builds ~40% faster (bench/bulk.ts) and lets
 * more rows fit under the parameter limit. A row that leaves a written column out still gets
 * `default` for it. Not for upserts: Drizzle renders their SET against this same column list.
 *
 * @example
 * await tx.insert(narrowed(users, writtenColumns(users, rows))).values(rows);
 */
export function narrowed<T extends PgTable>(table: T, columns: WrittenColumn[]): T {
  return withColumns(table, Object.fromEntries(columns.map(({ key, column }) => [key, column])));
}

/** Rows written by an INSERT without RETURNING: postgres.js `count`, PGlite `affectedRows`. */
export function affectedRows(result: unknown): number {
  const { count, affectedRows } = result as { count?: unknown; affectedRows?: unknown };
  if (typeof count === "number") return count;
  if (typeof affectedRows === "number") return affectedRows;
  throw new TypeError("the driver reported no affected-row count");
}

/** Rows per chunk handed to the socket: large enough to amortise the write, small in memory. */
const ROWS_PER_CHUNK = 1_000;

/** Sends `copy <target> (<columns>)` with the plan's rows as its data, on `tx`'s connection. */
async function copyText<T extends PgTable>(tx: AppTransaction, command: string, plan: CopyPlan<T>) {
  const client = driverClientOf(tx);
  if ("copyFrom" in client) {
    const stream = await client.copyFrom(`${command} from stdin`, plan.rows.length);
    await pipeline(Readable.from(encodeRows(plan)), stream);
  } else {
    // PGlite reads COPY data from a Blob mounted as /dev/blob.
    await client.query(`${command} from '/dev/blob'`, [], {
      blob: new Blob([...encodeRows(plan)]),
    });
  }
}

/** The plan's rows as COPY text, `ROWS_PER_CHUNK` lines per string. */
export function* encodeRows<T extends PgTable>(plan: CopyPlan<T>): Generator<string> {
  const fields = new Array<string>(plan.columns.length);
  let chunk = "";
  let lines = 0;
  for (const row of plan.rows) {
    for (const [i, { key, column }] of plan.columns.entries()) {
      let value = (row as Record<string, unknown>)[key];
      if (value === undefined) {
        // As Drizzle's INSERT; a column without any default takes NULL, which is its DEFAULT.
        if (column.defaultFn) value = column.defaultFn();
        else if (computedDefault(column)) value = column.onUpdateFn?.();
        else value = null;
      }
      fields[i] = encodeCopyValue(value === null ? null : column.mapToDriverValue(value));
    }
    chunk += `${fields.join("\t")}\n`;
    if (++lines === ROWS_PER_CHUNK) {
      yield chunk;
      chunk = "";
      lines = 0;
    }
  }
  if (chunk) yield chunk;
}

/** Characters with a meaning in COPY text format: the escape, the delimiter, line ends. */
const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/**
 * One driver value (after `mapToDriverValue`) as a field of COPY's text format: `\N` for NULL,
 * backslash, tab, newline and carriage return escaped, everything else (quotes, commas, any
 * Unicode) verbatim — the data is sent as UTF-8, the connection's encoding.
 *
 * @example
 * encodeCopyValue("a\tb\\c"); // "a\\tb\\\\c"
 * encodeCopyValue(null);       // "\\N"
 */
export function encodeCopyValue(value: unknown): string {
  if (value === null || value === undefined) return "\\N";
  if (typeof value === "string") return escapeText(value);
  if (typeof value === "number") {
    if (Number.isFinite(value)) return String(value);
    return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  }
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return value ? "t" : "f";
  if (value instanceof Date) return value.toISOString();
  // bytea hex input `\x...`, whose backslash must itself be escaped in COPY text.
  if (value instanceof Uint8Array) return `\\\\x${Buffer.from(value).toString("hex")}`;
  // A json/jsonb value a custom column left as an object.
  return escapeText(JSON.stringify(value));
}

function escapeText(text: string) {
  // The one character a PostgreSQL text value can't hold; refused here as the server refuses it
  // in an INSERT, before any row is sent (see `copyRows` for why a COPY must not fail).
  if (text.includes("\0")) {
    throw new InvalidInputError('invalid byte sequence for encoding "UTF8": 0x00', {
      code: "22021",
    });
  }
  return SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ESCAPES[c] ?? c) : text;
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
