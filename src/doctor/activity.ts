/**
 * Checks of what the database has been doing, from its statistics views: tables read by
 * sequential scans, dead rows waiting for vacuum, the cache hit ratio, long and idle-in-
 * transaction sessions, and the statements that took the most time. The session, cache and
 * statement reads are db:inspect's (src/inspect); the judgements are pure.
 */
import type postgres from "postgres";
import {
  formatCount,
  formatDuration,
  formatMilliseconds,
  formatPercent,
  truncateQuery,
} from "../inspect/format.js";
import type { CacheReport, LongSession } from "../inspect/queries.js";
import type { TopStatement } from "../inspect/statements.js";
import type { Finding } from "./report.js";
import { THRESHOLDS } from "./thresholds.js";

export interface TableActivity {
  table: string;
  seqScans: number;
  seqRowsRead: number;
  indexScans: number;
  liveRows: number;
  deadRows: number;
  /** The later of the last manual vacuum and the last autovacuum; null: never. */
  lastVacuum: Date | null;
}

export async function readTableActivity(sql: postgres.Sql): Promise<TableActivity[]> {
  return sql<TableActivity[]>`
    select relid::regclass::text as "table",
           seq_scan::float8 as "seqScans",
           seq_tup_read::float8 as "seqRowsRead",
           coalesce(idx_scan, 0)::float8 as "indexScans",
           n_live_tup::float8 as "liveRows",
           n_dead_tup::float8 as "deadRows",
           greatest(last_vacuum, last_autovacuum) as "lastVacuum"
    from pg_stat_user_tables
    order by seq_tup_read desc, 1`;
}

/**
 * Large tables read mostly by sequential scans: each scan reads every row, so a query that
 * does it on every request gets slower as the table grows. Reporting tables (read in full on
 * purpose) show up too; that is what the warning asks to confirm.
 */
export function judgeSequentialScans(tables: readonly TableActivity[]): Finding {
  const heavy = tables.filter(
    (t) =>
      t.liveRows >= THRESHOLDS.minTableRows &&
      t.seqScans >= THRESHOLDS.minSeqScans &&
      t.seqScans > t.indexScans,
  );
  if (heavy.length === 0) {
    return {
      check: "sequential scans",
      verdict: "ok",
      summary: `no table of ${formatCount(THRESHOLDS.minTableRows)}+ rows is read mostly by sequential scans`,
      details: [],
    };
  }
  return {
    check: "sequential scans",
    verdict: "warn",
    summary: `${heavy.length} large table(s) read mostly by sequential scans: a missing index, or a query without a usable condition`,
    details: heavy.map(
      (t) =>
        `${t.table}: ${formatCount(t.seqScans)} sequential vs ${formatCount(t.indexScans)} index scans, ` +
        `${formatCount(t.seqRowsRead / t.seqScans)} rows read per scan (${formatCount(t.liveRows)} rows)`,
    ),
  };
}

/**
 * Dead rows (left by UPDATE and DELETE) as a share of each table: space that vacuum hasn't
 * reclaimed yet, read by every sequential scan. A high share that stays high means autovacuum
 * can't keep up, or something (a long transaction) holds it back.
 */
export function judgeDeadRows(tables: readonly TableActivity[]): Finding {
  const ratio = (t: TableActivity) => t.deadRows / Math.max(1, t.liveRows + t.deadRows);
  const bloated = tables.filter(
    (t) => t.deadRows >= THRESHOLDS.minDeadRows && ratio(t) >= THRESHOLDS.deadRatioWarn,
  );
  if (bloated.length === 0) {
    return {
      check: "dead rows",
      verdict: "ok",
      summary: `no table is ${formatPercent(THRESHOLDS.deadRatioWarn)}+ dead rows`,
      details: [],
    };
  }
  return {
    check: "dead rows",
    verdict: "warn",
    summary: `${bloated.length} table(s) with ${formatPercent(THRESHOLDS.deadRatioWarn)}+ dead rows waiting for vacuum`,
    details: bloated.map(
      (t) =>
        `${t.table}: ${formatCount(t.deadRows)} dead of ${formatCount(t.liveRows + t.deadRows)} (${formatPercent(ratio(t))}), ` +
        `last vacuumed ${t.lastVacuum ? t.lastVacuum.toISOString().slice(0, 16).replace("T", " ") : "never"}`,
    ),
  };
}

/** The share of table and index block reads served from shared buffers, all user tables. */
export function judgeCache(cache: CacheReport, blockReads: number): Finding {
  const ratios = [cache.tableHitRatio, cache.indexHitRatio].filter(
    (ratio): ratio is number => ratio !== null,
  );
  const lowest = ratios.length > 0 ? Math.min(...ratios) : null;
  const summary = `tables ${formatPercent(cache.tableHitRatio)}, indexes ${formatPercent(cache.indexHitRatio)} from shared buffers`;
  if (lowest === null || blockReads < THRESHOLDS.minCacheReads) {
    return {
      check: "cache hit ratio",
      verdict: "ok",
      summary: `${formatCount(blockReads)} block reads so far, too few to judge`,
      details: [],
    };
  }
  const verdict =
    lowest < THRESHOLDS.cacheHitFail ? "fail" : lowest < THRESHOLDS.cacheHitWarn ? "warn" : "ok";
  return {
    check: "cache hit ratio",
    verdict,
    summary:
      verdict === "ok"
        ? summary
        : `${summary}: below ${formatPercent(THRESHOLDS.cacheHitWarn)}, the working set doesn't fit shared_buffers`,
    details: [],
  };
}

/** Table and index block reads of all user tables (hits and misses), for `judgeCache`. */
export async function readBlockReads(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ reads: number | null }[]>`
    select sum(heap_blks_hit + heap_blks_read + coalesce(idx_blks_hit, 0) + coalesce(idx_blks_read, 0))::float8 as reads
    from pg_statio_user_tables`;
  return row?.reads ?? 0;
}

/**
 * Sessions of this database whose transaction is older than `longSeconds`. Idle in
 * transaction fails: it holds its locks and its snapshot (vacuum can't remove rows dead since)
 * while doing nothing. A long running statement is a warning.
 */
export function judgeLongSessions(sessions: readonly LongSession[], longSeconds: number): Finding {
  if (sessions.length === 0) {
    return {
      check: "long transactions",
      verdict: "ok",
      summary: `no transaction open longer than ${formatDuration(longSeconds)}`,
      details: [],
    };
  }
  const idle = sessions.filter((s) => s.state?.startsWith("idle in transaction"));
  return {
    check: "long transactions",
    verdict: idle.length > 0 ? "fail" : "warn",
    summary:
      `${sessions.length} open longer than ${formatDuration(longSeconds)}` +
      (idle.length > 0
        ? `, ${idle.length} idle in transaction (holding locks, holding back vacuum)`
        : ""),
    details: sessions.map(
      (s) =>
        `pid ${s.pid} ${s.application} ${s.state ?? "?"} for ${formatDuration(s.stateSeconds)}, ` +
        `transaction ${formatDuration(s.transactionSeconds)}: ${truncateQuery(s.query, 60)}`,
    ),
  };
}

/**
 * The statements with the most total execution time, for the record: nothing to judge without
 * knowing the workload. `distinct` (also in `metrics.statements`) is how many statements the
 * database has run since pg_stat_statements was reset: compared before and after a load test,
 * it shows whether the app's statements stay a fixed set. Without a readable
 * pg_stat_statements, a `skip` saying how to get it.
 */
export function judgeTopStatements(
  statements: readonly TopStatement[] | { unavailable: string },
  distinct = 0,
): Finding {
  if ("unavailable" in statements) {
    return {
      check: "top queries",
      verdict: "skip",
      summary: `not available: ${statements.unavailable}`,
      details: [],
    };
  }
  return {
    check: "top queries",
    verdict: "ok",
    summary:
      statements.length === 0
        ? "pg_stat_statements has recorded nothing in this database yet"
        : `${formatCount(distinct)} distinct statements recorded; the ${statements.length} with the most total time:`,
    details: statements.map(
      (s) =>
        `${formatMilliseconds(s.totalMs)} ms total, ${formatCount(s.calls)} calls, ` +
        `${formatMilliseconds(s.meanMs)} ms mean, ${formatPercent(s.share)}: ${truncateQuery(s.query, 70)}`,
    ),
    metrics: { statements: distinct },
  };
}

/** Statements pg_stat_statements holds for this database; call once `readTopStatements` worked. */
export async function readStatementCount(sql: postgres.Sql): Promise<number> {
  const [extension] = await sql<{ schema: string }[]>`
    select n.nspname as schema
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'pg_stat_statements'`;
  if (!extension) return 0;
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count
    from ${sql(extension.schema)}.pg_stat_statements
    where dbid = (select oid from pg_database where datname = current_database())`;
  return row?.count ?? 0;
}
