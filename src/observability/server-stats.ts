/**
 * What the PostgreSQL server says about this database, read when Prometheus scrapes: sessions by
 * state, `max_connections`, the oldest open transaction, sessions idle in a transaction, and
 * `pg_stat_database.deadlocks`. One query, on a connection of its own:
 *
 * - it still answers when the app's pool is exhausted, which is when these numbers matter;
 * - its `statement_timeout` is the read's bound, so a stuck catalog read can't hang a scrape;
 * - its statements stay out of the app's query metrics and log.
 *
 * The result is cached for a few seconds and shared by concurrent scrapes. A failed read never
 * fails the scrape: it counts in `db_server_scrape_errors_total`, and the gauges keep their
 * previous values. Sessions of other roles show with state `other` unless the app's role may
 * read them (`GRANT pg_monitor TO app`). Not on PGlite: a single in-process session has no
 * server statistics worth the name.
 *
 * @example
 * const reader = createServerStatsReader(config.database, { timeoutMs: 2_000 });
 * registerServerStatsMetrics(registry, { reader, cacheMs: 5_000, logger });
 */
import postgres from "postgres";
import { Counter, Gauge, type Registry } from "prom-client";
import { postgresOptions } from "../db/client.js";
import type { DatabaseConfig } from "../env.js";
import type { Logger } from "../logger.js";
import { METRICS } from "./metric-names.js";

/** `pg_stat_activity.state`, as label values; `other` covers the rare ones and hidden sessions. */
export const SESSION_STATES = [
  "active",
  "idle",
  "idle_in_transaction",
  "idle_in_transaction_aborted",
  "other",
] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export interface ServerStats {
  /** Client sessions on this database by state, the reader's own excluded. */
  sessions: Readonly<Record<SessionState, number>>;
  maxConnections: number;
  /** Age of the oldest open transaction on this database (0 when none). */
  longestTransactionSeconds: number;
  idleInTransaction: number;
  /** `pg_stat_database.deadlocks`: detected since the server's statistics were last reset. */
  deadlocks: number;
}

export interface ServerStatsReader {
  read(): Promise<ServerStats>;
  close(): Promise<void>;
}

const STATE_LABELS: Record<string, SessionState> = {
  active: "active",
  idle: "idle",
  "idle in transaction": "idle_in_transaction",
  "idle in transaction (aborted)": "idle_in_transaction_aborted",
};

interface StatsRow {
  sessions: Record<string, number> | null;
  max_connections: number;
  longest_transaction_seconds: number;
  idle_in_transaction: number;
  deadlocks: number;
}

/**
 * A reader on its own postgres.js connection (`max: 1`, opened at the first read, named
 * `<DATABASE_APPLICATION_NAME>:metrics` in pg_stat_activity), bounded by `timeoutMs`.
 */
export function createServerStatsReader(
  config: DatabaseConfig,
  { timeoutMs }: { timeoutMs: number },
): ServerStatsReader {
  if (!config.url) throw new Error("server statistics need a postgres:// database");
  const url = config.url;
  let sql: postgres.Sql | undefined;
  const connection = () => {
    sql ??= postgres(url, {
      ...postgresOptions(config),
      max: 1,
      connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
      connection: {
        application_name: `${config.applicationName}:metrics`,
        statement_timeout: timeoutMs,
      },
      onnotice: () => undefined,
    });
    return sql;
  };

  return {
    async read() {
      const query = connection()<StatsRow[]>`
        select
          (select json_object_agg(state, sessions) from (
             select coalesce(state, 'hidden') as state, count(*)::int as sessions
               from pg_stat_activity
              where datname = current_database() and backend_type = 'client backend'
                and pid <> pg_backend_pid()
              group by 1) by_state) as sessions,
          current_setting('max_connections')::int as max_connections,
          coalesce((select extract(epoch from max(clock_timestamp() - xact_start))::float8
                      from pg_stat_activity
                     where datname = current_database() and xact_start is not null
                       and pid <> pg_backend_pid()), 0) as longest_transaction_seconds,
          (select count(*)::int from pg_stat_activity
            where datname = current_database() and state like 'idle in transaction%')
            as idle_in_transaction,
          coalesce((select deadlocks::float8 from pg_stat_database
                     where datname = current_database()), 0) as deadlocks`;
      // statement_timeout bounds the query; this bounds connecting and a silent network.
      const [row] = await withDeadline(query, timeoutMs + 500, () => query.cancel());
      if (!row) throw new Error("server statistics query returned no row");
      const sessions = Object.fromEntries(SESSION_STATES.map((s) => [s, 0])) as Record<
        SessionState,
        number
      >;
      for (const [state, count] of Object.entries(row.sessions ?? {})) {
        sessions[STATE_LABELS[state] ?? "other"] += count;
      }
      return {
        sessions,
        maxConnections: row.max_connections,
        longestTransactionSeconds: row.longest_transaction_seconds,
        idleInTransaction: row.idle_in_transaction,
        deadlocks: row.deadlocks,
      };
    },
    async close() {
      await sql?.end({ timeout: 1 });
    },
  };
}

async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`server statistics took over ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ServerStatsMetricsOptions {
  reader: ServerStatsReader;
  /** How long one read serves scrapes; several Prometheus servers then cost one query. */
  cacheMs: number;
  logger: Logger;
}

/** Registers the `db_server_*` metrics on `registry`, read through `reader` at scrape time. */
export function registerServerStatsMetrics(
  registry: Registry,
  { reader, cacheMs, logger }: ServerStatsMetricsOptions,
): void {
  const registers = [registry];
  const scrapeErrors = new Counter({
    name: METRICS.serverScrapeErrors,
    help: "Failed reads of the server statistics (the db_server_* values are then stale)",
    registers,
    // Waits for this scrape's read, so that its failure shows in the same scrape.
    async collect() {
      await read();
    },
  });

  let last: ServerStats | undefined;
  let readAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<ServerStats | undefined> | undefined;
  let failing = false;
  const read = (): Promise<ServerStats | undefined> => {
    if (performance.now() - readAt < cacheMs) return Promise.resolve(last);
    pending ??= reader
      .read()
      .then(
        (stats) => {
          last = stats;
          if (failing) logger.info("server statistics readable again");
          failing = false;
          return stats;
        },
        (error: unknown) => {
          scrapeErrors.inc();
          // Once per outage at warn: Prometheus asks every few seconds.
          if (!failing) logger.warn({ err: error }, "server statistics unavailable");
          failing = true;
          return last;
        },
      )
      .finally(() => {
        readAt = performance.now();
        pending = undefined;
      });
    return pending;
  };

  new Gauge({
    name: METRICS.serverConnections,
    help: "Client sessions on this database by state (pg_stat_activity), the exporter's excluded",
    labelNames: ["state"],
    registers,
    async collect() {
      const stats = await read();
      if (!stats) return;
      for (const state of SESSION_STATES) this.set({ state }, stats.sessions[state]);
    },
  });
  new Gauge({
    name: METRICS.serverMaxConnections,
    help: "The server's max_connections",
    registers,
    async collect() {
      const stats = await read();
      if (stats) this.set(stats.maxConnections);
    },
  });
  new Gauge({
    name: METRICS.serverLongestTransactionSeconds,
    help: "Age of the oldest open transaction on this database",
    registers,
    async collect() {
      const stats = await read();
      if (stats) this.set(stats.longestTransactionSeconds);
    },
  });
  new Gauge({
    name: METRICS.serverIdleInTransactionSessions,
    help: "Sessions idle inside an open transaction (holding locks and snapshots)",
    registers,
    async collect() {
      const stats = await read();
      if (stats) this.set(stats.idleInTransaction);
    },
  });
  let deadlocksReported = 0;
  new Counter({
    name: METRICS.serverDeadlocks,
    help: "Deadlocks detected on this database (pg_stat_database.deadlocks)",
    registers,
    async collect() {
      const stats = await read();
      if (!stats) return;
      // The server's count restarts when its statistics are reset: follow it from there.
      if (stats.deadlocks > deadlocksReported) this.inc(stats.deadlocks - deadlocksReported);
      deadlocksReported = stats.deadlocks;
    },
  });
}
