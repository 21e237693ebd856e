/**
 * Query logging and timing at the driver, where a query's end is visible. Drizzle's own logger
 * is called before the query runs, so it can't report a duration, a row count or an error; this
 * is a listener of the database's events instead (`events.ts`), which report every settled
 * query, from postgres.js and PGlite alike.
 *
 * - slower than `DATABASE_SLOW_QUERY_MS`  -> warn "slow query";
 * - every query when `DATABASE_LOG_QUERIES=true` -> debug "query" / "query failed";
 * - parameters only when `DATABASE_LOG_PARAMS=true` (development: they hold personal data),
 *   otherwise just their count;
 * - counters and a latency histogram for every query, logged or not (`Database.queryMetrics()`).
 *
 * @example
 * const observer = createQueryObserver(config.database, logger);
 * database.listen(observer);
 * observer.metrics(); // { queries: 1, errors: 0, slow: 0, totalMs: 0.4, buckets: [...] }
 */
import type { DatabaseConfig } from "../env.js";
import type { Logger } from "../logger.js";
import { DatabaseError, mapDatabaseError } from "./errors.js";
import type { DatabaseListener, QueryEvent } from "./events.js";

export interface QueryMetricsSnapshot {
  queries: number;
  errors: number;
  /** Queries at or over the slow-query threshold. */
  slow: number;
  totalMs: number;
  /** Cumulative, Prometheus-style: `count` queries took at most `le` ms. */
  buckets: { le: number; count: number }[];
}

export interface QueryObserver extends DatabaseListener {
  query(event: QueryEvent): void;
  metrics(): QueryMetricsSnapshot;
}

/** Upper bounds (ms) of the latency histogram; the last bucket is +Infinity. */
const BUCKETS_MS = [
  1,
  2,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1_000,
  2_500,
  5_000,
  Number.POSITIVE_INFINITY,
];
/** A bulk INSERT's text runs to hundreds of kilobytes; the head identifies it. */
const MAX_SQL_CHARS = 2_000;
const MAX_LOGGED_PARAMS = 50;
const MAX_PARAM_CHARS = 200;

type Options = Pick<DatabaseConfig, "slowQueryMs" | "logQueries" | "logParams">;

export function createQueryObserver(options: Options, logger?: Logger): QueryObserver {
  const counts = BUCKETS_MS.map(() => 0);
  const totals = { queries: 0, errors: 0, slow: 0, totalMs: 0 };

  return {
    query(event) {
      totals.queries++;
      totals.totalMs += event.durationMs;
      if (event.error !== undefined) totals.errors++;
      let bucket = 0;
      while (event.durationMs > (BUCKETS_MS[bucket] as number)) bucket++;
      counts[bucket] = (counts[bucket] ?? 0) + 1;

      const slow = options.slowQueryMs > 0 && event.durationMs >= options.slowQueryMs;
      if (slow) totals.slow++;
      if (!logger) return;
      if (slow) logger.warn(logLine(event, options), "slow query");
      else if (options.logQueries && logger.isLevelEnabled("debug")) {
        logger.debug(logLine(event, options), event.error === undefined ? "query" : "query failed");
      }
    },
    metrics() {
      let cumulative = 0;
      const buckets = BUCKETS_MS.map((le, i) => {
        cumulative += counts[i] ?? 0;
        return { le, count: cumulative };
      });
      return { ...totals, totalMs: Math.round(totals.totalMs * 100) / 100, buckets };
    },
  };
}

function logLine(event: QueryEvent, options: Options) {
  const mapped = event.error === undefined ? undefined : mapDatabaseError(event.error);
  return {
    durationMs: Math.round(event.durationMs * 100) / 100,
    rows: event.rows,
    ...(mapped instanceof DatabaseError ? { sqlstate: mapped.code } : {}),
    ...(event.error !== undefined && !(mapped instanceof DatabaseError)
      ? { error: mapped instanceof Error ? mapped.name : typeof mapped }
      : {}),
    sql: truncate(event.sql, MAX_SQL_CHARS),
    ...(options.logParams
      ? { params: event.params.slice(0, MAX_LOGGED_PARAMS).map(formatParam) }
      : { paramCount: event.params.length }),
  };
}

function formatParam(value: unknown): unknown {
  if (typeof value === "string") return truncate(value, MAX_PARAM_CHARS);
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === "object") {
    return truncate(JSON.stringify(value) ?? String(value), MAX_PARAM_CHARS);
  }
  return value;
}

const truncate = (text: string, max: number) =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
