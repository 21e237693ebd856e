/**
 * Proves down files undo their migrations: on an empty database, for every migration in turn,
 * up -> down -> up, comparing the schema after the down with the schema before the up, and
 * the schema after the second up with the one after the first. A down file marked
 * `-- lossless` must also give back every row that existed before the up, byte for byte.
 *
 * Column order counts. The one expected difference is a column the down adds back: PostgreSQL
 * can only append it, so a down that declares it (`-- restored last: "schema"."table"."column"`,
 * which generated downs write) is compared against the schema before the up with that column
 * moved to the end of its table.
 *
 * Schemas are compared through catalog queries (pg_catalog's own `pg_get_*def` functions), so
 * it works anywhere the runner does — PGlite included — without `pg_dump`.
 *
 * @example
 * const connection = await connectForMigrations(parseConfig({ DATABASE_URL: emptyDbUrl }).database);
 * const report = await verifyRoundTrips(connection, {
 *   folder: "drizzle",
 *   seed: (db) => db.execute("insert into users (email, name) values ('a@b.co', 'A')"),
 * });
 * expect(report.problems).toEqual([]);
 */
import type { MigrationConnection } from "./connection.js";
import type { RestoredColumn } from "./down-review.js";
import type { MigrationFile } from "./files.js";
import { rollback } from "./rollback.js";
import { migrateUp, readMigrationStatus } from "./runner.js";
import { IDENT, unquote } from "./sql.js";

/** Sorted descriptions of every object, by kind (`columns`, `indexes`, ...). */
export type SchemaSnapshot = Record<string, string[]>;

export interface RoundTripOptions {
  folder: string;
  /** Schemas left out of snapshots; the runner's bookkeeping lives in `drizzle`. */
  excludeSchemas?: readonly string[];
  /**
   * Inserts rows before each migration's up, into the schema as it is at that point, so the
   * lossless check has data to compare. Called once per migration, in journal order.
   */
  seed?: (connection: MigrationConnection, next: MigrationFile) => Promise<void>;
}

export interface RoundTripReport {
  migrations: { tag: string; lossless: boolean; rowsCompared: number }[];
  /** Empty when every round trip held. */
  problems: string[];
}

const SYSTEM_SCHEMAS = `n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
  and n.nspname <> all($1::text[])`;

/** Catalog queries, one per kind of object; each returns one `line` per object. */
const CATALOG_QUERIES: Record<string, string> = {
  schemas: `select n.nspname as line from pg_namespace n where ${SYSTEM_SCHEMAS}`,
  extensions: `select e.extname as line from pg_extension e
    join pg_namespace n on n.oid = e.extnamespace where ${SYSTEM_SCHEMAS}`,
  relations: `select format('%I.%I kind=%s persistence=%s rls=%s comment=%s', n.nspname, c.relname,
      c.relkind, c.relpersistence, c.relrowsecurity, obj_description(c.oid, 'pg_class')) as line
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f', 'c') and ${SYSTEM_SCHEMAS}`,
  // Position among live columns: a dropped column leaves a gap in attnum, not in the table.
  columns: `select format('%I.%I #%s %I %s notnull=%s default=%s identity=%s generated=%s collation=%s comment=%s',
      n.nspname, c.relname,
      row_number() over (partition by a.attrelid order by a.attnum), a.attname,
      format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
      a.attidentity, a.attgenerated, co.collname, col_description(c.oid, a.attnum)) as line
    from pg_attribute a
    join pg_class c on c.oid = a.attrelid
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    left join pg_collation co on co.oid = a.attcollation and a.attcollation <> 100
    where a.attnum > 0 and not a.attisdropped
      and c.relkind in ('r', 'p', 'v', 'm', 'f', 'c') and ${SYSTEM_SCHEMAS}`,
  constraints: `select format('%I.%I %I %s', n.nspname, coalesce(c.relname, t.typname), k.conname,
      pg_get_constraintdef(k.oid)) as line
    from pg_constraint k
    join pg_namespace n on n.oid = k.connamespace
    left join pg_class c on c.oid = k.conrelid
    left join pg_type t on t.oid = k.contypid
    where ${SYSTEM_SCHEMAS}`,
  indexes: `select pg_get_indexdef(i.indexrelid) as line
    from pg_index i join pg_class c on c.oid = i.indexrelid
    join pg_namespace n on n.oid = c.relnamespace where ${SYSTEM_SCHEMAS}`,
  views: `select format('%I.%I %s', n.nspname, c.relname, pg_get_viewdef(c.oid)) as line
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('v', 'm') and ${SYSTEM_SCHEMAS}`,
  sequences: `select format('%I.%I %s start=%s increment=%s min=%s max=%s cycle=%s', n.nspname,
      c.relname, format_type(s.seqtypid, null), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
      s.seqcycle) as line
    from pg_sequence s join pg_class c on c.oid = s.seqrelid
    join pg_namespace n on n.oid = c.relnamespace where ${SYSTEM_SCHEMAS}`,
  types: `select format('%I.%I type=%s base=%s notnull=%s labels=%s', n.nspname, t.typname,
      t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull,
      (select string_agg(e.enumlabel, ',' order by e.enumsortorder)
         from pg_enum e where e.enumtypid = t.oid)) as line
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where t.typtype in ('e', 'd') and ${SYSTEM_SCHEMAS}`,
  functions: `select pg_get_functiondef(p.oid) as line
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where p.prokind in ('f', 'p') and ${SYSTEM_SCHEMAS}
      and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`,
  triggers: `select pg_get_triggerdef(g.oid) as line
    from pg_trigger g join pg_class c on c.oid = g.tgrelid
    join pg_namespace n on n.oid = c.relnamespace where not g.tgisinternal and ${SYSTEM_SCHEMAS}`,
  policies: `select format('%I.%I %I %s %s using=%s check=%s', n.nspname, c.relname, p.polname,
      p.polcmd, p.polpermissive, pg_get_expr(p.polqual, p.polrelid),
      pg_get_expr(p.polwithcheck, p.polrelid)) as line
    from pg_policy p join pg_class c on c.oid = p.polrelid
    join pg_namespace n on n.oid = c.relnamespace where ${SYSTEM_SCHEMAS}`,
};

/** The schema as sorted lines per kind of object; `drizzle` (bookkeeping) left out by default. */
export async function snapshotSchema(
  connection: MigrationConnection,
  excludeSchemas: readonly string[] = ["drizzle"],
): Promise<SchemaSnapshot> {
  const snapshot: SchemaSnapshot = {};
  for (const [kind, query] of Object.entries(CATALOG_QUERIES)) {
    const rows = await connection.query<{ line: string }>(query, [excludeSchemas]);
    snapshot[kind] = rows.map((row) => row.line).toSorted();
  }
  return snapshot;
}

/** Every row of every table, as sorted JSON lines per `schema.table`. */
export async function snapshotData(
  connection: MigrationConnection,
  excludeSchemas: readonly string[] = ["drizzle"],
): Promise<SchemaSnapshot> {
  const tables = await connection.query<{ name: string; quoted: string }>(
    `select n.nspname || '.' || c.relname as name, format('%I.%I', n.nspname, c.relname) as quoted
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and ${SYSTEM_SCHEMAS}`,
    [excludeSchemas],
  );
  const snapshot: SchemaSnapshot = {};
  for (const { name, quoted } of tables) {
    const rows = await connection.query<{ row: string }>(
      `select to_jsonb(t)::text as row from ${quoted} t`,
    );
    snapshot[name] = rows.map((r) => r.row).toSorted();
  }
  return snapshot;
}

/** Human-readable differences: `- ` only in `before`, `+ ` only in `after`. */
export function diffSnapshots(before: SchemaSnapshot, after: SchemaSnapshot): string[] {
  const differences: string[] = [];
  for (const kind of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = new Set(before[kind] ?? []);
    const b = new Set(after[kind] ?? []);
    for (const line of a) if (!b.has(line)) differences.push(`${kind}: - ${line}`);
    for (const line of b) if (!a.has(line)) differences.push(`${kind}: + ${line}`);
  }
  return differences;
}

/** Runs the round trip for every migration of `folder` on an empty database. */
export async function verifyRoundTrips(
  connection: MigrationConnection,
  options: RoundTripOptions,
): Promise<RoundTripReport> {
  const { folder, excludeSchemas } = options;
  const start = await readMigrationStatus(connection, { folder });
  if (start.entries.some((entry) => entry.state !== "pending") || start.missingFiles.length > 0) {
    throw new Error("verifyRoundTrips needs a database with no migration applied");
  }

  const report: RoundTripReport = { migrations: [], problems: [] };
  const problem = (tag: string, what: string, differences: string[]) => {
    if (differences.length > 0)
      report.problems.push(`${tag}: ${what}:\n  ${differences.join("\n  ")}`);
  };

  // A step that fails leaves the database in an unknown state: report it and stop.
  const step = async (tag: string, what: string, work: () => Promise<unknown>) => {
    try {
      await work();
      return true;
    } catch (error) {
      report.problems.push(`${tag}: ${what} failed: ${(error as Error).message}`);
      return false;
    }
  };

  for (const { migration } of start.entries) {
    const { tag } = migration;
    await options.seed?.(connection, migration);
    const schemaBefore = await snapshotSchema(connection, excludeSchemas);
    const { lossless } = migration.down;
    const dataBefore = lossless ? await snapshotData(connection, excludeSchemas) : {};

    if (!(await step(tag, "the up", () => migrateUp(connection, { folder, to: tag })))) break;
    if (migration.down.state !== "ready") {
      report.problems.push(`${tag}: no down file with SQL (${migration.down.file})`);
      continue;
    }
    const schemaAfterUp = await snapshotSchema(connection, excludeSchemas);
    if (!(await step(tag, "the down", () => rollback(connection, { folder, steps: 1 })))) break;
    problem(
      tag,
      "the schema after the down differs from the schema before the up",
      diffSnapshots(
        moveColumnsLast(schemaBefore, migration.down.restoredLast),
        await snapshotSchema(connection, excludeSchemas),
      ),
    );
    if (lossless) {
      problem(
        tag,
        "the down is marked lossless but rows differ from before the up",
        diffSnapshots(dataBefore, await snapshotData(connection, excludeSchemas)),
      );
    }
    const again = () => migrateUp(connection, { folder, to: tag });
    if (!(await step(tag, "re-applying the up after the down", again))) break;
    problem(
      tag,
      "re-applying after the down gives a different schema than the first up",
      diffSnapshots(schemaAfterUp, await snapshotSchema(connection, excludeSchemas)),
    );
    report.migrations.push({
      tag,
      lossless,
      rowsCompared: Object.values(dataBefore).reduce((sum, rows) => sum + rows.length, 0),
    });
  }
  return report;
}

/** A `columns` line: `schema.table #position column type ...`, names as `format('%I')` writes them. */
const COLUMN_LINE = new RegExp(`^(${IDENT})\\.(${IDENT}) #(\\d+) ((${IDENT}) .*)$`, "s");

/**
 * `snapshot` with each of `columns` moved to the end of its table (in the order given), as a
 * down that adds them back leaves them. Columns the snapshot doesn't hold are ignored.
 */
export function moveColumnsLast(
  snapshot: SchemaSnapshot,
  columns: readonly RestoredColumn[],
): SchemaSnapshot {
  if (columns.length === 0) return snapshot;
  const unchanged: string[] = [];
  const tables = new Map<string, { prefix: string; rank: number; rest: string }[]>();
  for (const line of snapshot.columns ?? []) {
    const [, schema = "", table = "", position = "", rest = "", column = ""] =
      COLUMN_LINE.exec(line) ?? [];
    if (!rest) {
      unchanged.push(line);
      continue;
    }
    const restored = columns.findIndex(
      (c) =>
        c.schema === unquote(schema) && c.table === unquote(table) && c.column === unquote(column),
    );
    // Restored columns sort after every live one, in the order the down adds them.
    const rank = restored === -1 ? Number(position) : Number.MAX_SAFE_INTEGER / 2 + restored;
    const key = `${schema}.${table}`;
    tables.set(key, [...(tables.get(key) ?? []), { prefix: key, rank, rest }]);
  }
  const renumbered = [...tables.values()].flatMap((table) =>
    table
      .toSorted((a, b) => a.rank - b.rank)
      .map((column, i) => `${column.prefix} #${i + 1} ${column.rest}`),
  );
  return { ...snapshot, columns: [...unchanged, ...renumbered].toSorted() };
}
