/**
 * Index checks: foreign keys without a supporting index, identical indexes, indexes made
 * redundant by a longer one, and indexes nothing has used. Each check is a read (SQL on the
 * catalogs and statistics views) and a pure judgement of what it read, so the judgement is
 * unit-tested on plain objects.
 */
import type postgres from "postgres";
import { formatBytes, formatCount } from "../inspect/format.js";
import type { Finding } from "./report.js";
import { THRESHOLDS } from "./thresholds.js";

export interface ForeignKeyRow {
  constraint: string;
  table: string;
  references: string;
  /** The referencing columns, quoted, in key order. */
  columns: string;
  /** An index whose leading columns are exactly these (any order; valid, not partial). */
  indexed: boolean;
  rows: number;
}

/**
 * Every foreign key of the database. Without a supporting index, each DELETE (or key UPDATE)
 * of a referenced row scans the referencing table to check it, under lock.
 */
export async function readForeignKeys(sql: postgres.Sql): Promise<ForeignKeyRow[]> {
  return sql<ForeignKeyRow[]>`
    select c.conname as "constraint",
           c.conrelid::regclass::text as "table",
           c.confrelid::regclass::text as "references",
           (select string_agg(quote_ident(a.attname), ', ' order by k.ord)
              from unnest(c.conkey) with ordinality k(attnum, ord)
              join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum) as columns,
           exists (
             select 1 from pg_index i
             where i.indrelid = c.conrelid and i.indisvalid and i.indpred is null
               -- indkey is 0-based: its first n entries are the index's leading columns
               and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
               and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey
           ) as indexed,
           coalesce(s.n_live_tup, 0)::float8 as rows
    from pg_constraint c
    join pg_namespace n on n.oid = c.connamespace
    left join pg_stat_user_tables s on s.relid = c.conrelid
    where c.contype = 'f' and n.nspname not in ('pg_catalog', 'information_schema')
    order by 2, 1`;
}

export function judgeForeignKeys(rows: readonly ForeignKeyRow[]): Finding {
  const missing = rows.filter((row) => !row.indexed);
  if (missing.length === 0) {
    return {
      check: "foreign keys",
      verdict: "ok",
      summary:
        rows.length === 0
          ? "no foreign keys"
          : `every foreign key (${rows.length}) has a supporting index`,
      details: [],
    };
  }
  return {
    check: "foreign keys",
    verdict: "fail",
    summary: `${missing.length} of ${rows.length} without a supporting index: deleting a referenced row scans the whole referencing table`,
    details: missing.map(
      (row) =>
        `${row.table} (${row.columns}) -> ${row.references}  [${row.constraint}, ${formatCount(row.rows)} rows]` +
        `  fix: create index concurrently on ${row.table} (${row.columns})`,
    ),
  };
}

export interface IndexRow {
  table: string;
  index: string;
  unique: boolean;
  primary: boolean;
  /** Backs a primary key, unique or exclusion constraint: not droppable on its own. */
  backsConstraint: boolean;
  /** Its leading columns are a foreign key's: dropping it brings back the scan on delete. */
  supportsForeignKey: boolean;
  valid: boolean;
  /** Column numbers, `"2 3"`; 0 stands for an expression. */
  key: string;
  opclasses: string;
  collations: string;
  method: string;
  expressions: string;
  predicate: string;
  scans: number;
  bytes: number;
  tableRows: number;
}

export async function readIndexes(sql: postgres.Sql): Promise<IndexRow[]> {
  return sql<IndexRow[]>`
    select s.relid::regclass::text as "table",
           s.indexrelid::regclass::text as index,
           i.indisunique as unique,
           i.indisprimary as primary,
           exists (select 1 from pg_constraint c
                   where c.conindid = i.indexrelid and c.conrelid = i.indrelid
                     and c.contype in ('p', 'u', 'x')) as "backsConstraint",
           exists (select 1 from pg_constraint c
                   where c.contype = 'f' and c.conrelid = i.indrelid
                     and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                     and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey) as "supportsForeignKey",
           i.indisvalid as valid,
           i.indkey::text as key,
           i.indclass::text as opclasses,
           i.indcollation::text as collations,
           am.amname as method,
           coalesce(pg_get_expr(i.indexprs, i.indrelid), '') as expressions,
           coalesce(pg_get_expr(i.indpred, i.indrelid), '') as predicate,
           s.idx_scan::float8 as scans,
           pg_relation_size(s.indexrelid)::float8 as bytes,
           coalesce(t.n_live_tup, 0)::float8 as "tableRows"
    from pg_stat_user_indexes s
    join pg_index i on i.indexrelid = s.indexrelid
    join pg_class ic on ic.oid = s.indexrelid
    join pg_am am on am.oid = ic.relam
    left join pg_stat_user_tables t on t.relid = s.relid
    order by 1, 2`;
}

/** What makes two indexes the same index: everything but the name. */
const definition = (row: IndexRow) =>
  [
    row.table,
    row.method,
    row.key,
    row.opclasses,
    row.collations,
    row.expressions,
    row.predicate,
  ].join("\u0000");

/** Sets of identical indexes: each set is one index built (and written to) several times. */
export function judgeDuplicates(rows: readonly IndexRow[]): Finding {
  const groups = new Map<string, IndexRow[]>();
  for (const row of rows) {
    const key = definition(row);
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const duplicates = [...groups.values()].filter((group) => group.length > 1);
  if (duplicates.length === 0) {
    return { check: "duplicate indexes", verdict: "ok", summary: "none", details: [] };
  }
  return {
    check: "duplicate indexes",
    verdict: "fail",
    summary: `${duplicates.length} set(s) of identical indexes: every write updates each copy`,
    details: duplicates.map((group) => {
      // Keep the one a constraint needs, else the first; drop the others.
      const keep = group.find((row) => row.backsConstraint) ?? group[0];
      const drop = group.filter((row) => row !== keep).map((row) => row.index);
      return (
        `${group[0]?.table}: ${group.map((row) => row.index).join(" = ")} ` +
        `(${formatBytes(group[0]?.bytes)} each)  fix: drop index concurrently ${drop.join(", ")}`
      );
    }),
  };
}

/**
 * Plain b-tree indexes whose columns lead a longer index of the same table: the longer one
 * serves every query the shorter does. Unique, constraint and partial indexes are never
 * redundant (they enforce something, or cover other rows).
 */
export function judgeRedundant(rows: readonly IndexRow[]): Finding {
  const plain = (row: IndexRow) =>
    row.method === "btree" && row.expressions === "" && row.predicate === "" && row.valid;
  const findings: string[] = [];
  for (const short of rows) {
    if (!plain(short) || short.unique || short.backsConstraint) continue;
    const covering = rows.find(
      (long) =>
        long !== short &&
        plain(long) &&
        long.table === short.table &&
        long.key.split(" ").length > short.key.split(" ").length &&
        `${long.key} `.startsWith(`${short.key} `) &&
        `${long.opclasses} `.startsWith(`${short.opclasses} `) &&
        `${long.collations} `.startsWith(`${short.collations} `),
    );
    if (covering) {
      findings.push(
        `${short.table}: ${short.index} (${formatBytes(short.bytes)}) leads ${covering.index}`,
      );
    }
  }
  return findings.length === 0
    ? { check: "redundant indexes", verdict: "ok", summary: "none", details: [] }
    : {
        check: "redundant indexes",
        verdict: "warn",
        summary: `${findings.length} index(es) covered by a longer one: check the plans, then drop`,
        details: findings,
      };
}

/**
 * Indexes with no scan since the statistics were reset (`statsSince`), on tables large enough
 * for them to cost something. Indexes that enforce a constraint or support a foreign key are
 * needed whether or not a query uses them.
 */
export function judgeUnused(rows: readonly IndexRow[], statsSince: string): Finding {
  const unused = rows.filter(
    (row) =>
      row.scans === 0 &&
      row.valid &&
      !row.unique &&
      !row.backsConstraint &&
      !row.supportsForeignKey &&
      row.tableRows >= THRESHOLDS.minTableRows,
  );
  if (unused.length === 0) {
    return {
      check: "unused indexes",
      verdict: "ok",
      summary: `every index on a table of ${formatCount(THRESHOLDS.minTableRows)}+ rows has been used (${statsSince})`,
      details: [],
    };
  }
  return {
    check: "unused indexes",
    verdict: "warn",
    summary: `${unused.length} never used ${statsSince}: each one slows every write; drop those no rare job needs`,
    details: unused.map(
      (row) =>
        `${row.table}: ${row.index} (${formatBytes(row.bytes)}, table ${formatCount(row.tableRows)} rows)`,
    ),
  };
}

/** `since statistics reset 2026-01-02 03:04` or `since the database was created`. */
export async function readStatsSince(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<{ reset: Date | null }[]>`
    select stats_reset as reset from pg_stat_database where datname = current_database()`;
  return row?.reset
    ? `since statistics reset ${row.reset.toISOString().slice(0, 16).replace("T", " ")} UTC`
    : "since the statistics began";
}
