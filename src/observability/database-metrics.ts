/**
 * The data layer's metrics: the pool, read from `database.poolStats()` when Prometheus scrapes,
 * and queries, transactions, retries and pool waits counted from the events of
 * `database.listen` (src/db/events.ts) as they happen.
 *
 * Every label is bounded by construction: `operation` is the bounded name the data layer gives
 * each statement, `sqlstate_class` is two characters of a SQLSTATE, `error` is the name of a
 * typed error class, and the rest are fixed sets.
 *
 * @example
 * const stop = registerDatabaseMetrics(registry, { database, slowQueryMs: 500 });
 * // ... on shutdown
 * stop();
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import {
  DatabaseError,
  DeadlockError,
  mapDatabaseError,
  PoolTimeoutError,
  SerializationFailureError,
} from "../db/errors.js";
import type { DatabaseListener, PoolStats } from "../db/events.js";
import { METRICS } from "./metric-names.js";

/** What the metrics and the tracing need of a `Database` (src/db/client.ts). */
export interface ObservedDatabase {
  readonly driver: "postgres" | "pglite";
  listen(listener: DatabaseListener): () => void;
  poolStats(): PoolStats;
}

export interface DatabaseMetricsOptions {
  database: ObservedDatabase;
  /** `DATABASE_SLOW_QUERY_MS`: the threshold of `db_slow_queries_total`, as in the query log. */
  slowQueryMs: number;
}

/** Seconds. Point reads land in the first buckets, a statement timeout in the last ones. */
const QUERY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const POOL_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const TRANSACTION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * The `{sqlstate_class, error}` labels of a failed statement: the SQLSTATE's class (`23`
 * integrity, `40` transaction rollback, `57` operator intervention, ...) or `none` for a
 * client-side failure (pool timeout, lost connection), and the typed error's class name.
 *
 * @example
 * errorLabels(driverErrorWithCode("40P01")); // { sqlstateClass: "40", error: "DeadlockError" }
 */
export function errorLabels(error: unknown): { sqlstateClass: string; error: string } {
  const mapped = mapDatabaseError(error);
  if (!(mapped instanceof DatabaseError)) return { sqlstateClass: "none", error: "other" };
  const code = mapped.code;
  return {
    sqlstateClass: code !== undefined && SQLSTATE.test(code) ? code.slice(0, 2) : "none",
    error: mapped.name,
  };
}

/** Why `withTransaction` retried: the two retryable SQLSTATEs (40001, 40P01). */
export function retryReason(error: unknown): "serialization" | "deadlock" | "other" {
  if (error instanceof DeadlockError) return "deadlock";
  if (error instanceof SerializationFailureError) return "serialization";
  return "other";
}

/**
 * A counter that follows one of the pool's own running totals (connections opened, ...): the
 * pool is the source of truth, so at each scrape the counter catches up with it. A total the
 * pool can't know (null: multi-host URL) leaves the counter at 0.
 */
function followingCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | null,
) {
  let reported = 0;
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const total = read();
      if (total !== null && total > reported) {
        this.inc(total - reported);
        reported = total;
      }
    },
  });
}

/** Where `db_prepared_statements` stops counting: far above any sane app's statement count. */
const MAX_TRACKED_STATEMENTS = 10_000;

/** Registers the data layer's metrics on `registry` and listens; returns the unsubscribe. */
export function registerDatabaseMetrics(
  registry: Registry,
  { database, slowQueryMs }: DatabaseMetricsOptions,
): () => void {
  const registers = [registry];
  const pool = () => database.poolStats();

  new Gauge({
    name: METRICS.poolConnections,
    help: "Open pooled connections by state (in_use: serving a query or held by a transaction)",
    labelNames: ["state"],
    registers,
    collect() {
      const stats = pool();
      // `idle` is unknown behind a multi-host URL (postgres.js opens those sockets itself).
      if (stats.idle !== null) this.set({ state: "idle" }, stats.idle);
      this.set({ state: "in_use" }, stats.inUse);
    },
  });
  new Gauge({
    name: METRICS.poolMaxConnections,
    help: "Size limit of the pool (DATABASE_POOL_MAX; 1 on PGlite)",
    registers,
    collect() {
      this.set(pool().max);
    },
  });
  new Gauge({
    name: METRICS.poolWaitingRequests,
    help: "Queries and transactions waiting for a free connection right now",
    registers,
    collect() {
      this.set(pool().waiting);
    },
  });
  new Gauge({
    name: METRICS.poolLongestWaitSeconds,
    help: "How long the longest current wait for a connection has lasted",
    registers,
    collect() {
      this.set(pool().longestWaitMs / 1000);
    },
  });
  followingCounter(
    registry,
    METRICS.poolConnectionsOpened,
    "Connections opened since start",
    () => pool().opened,
  );
  followingCounter(
    registry,
    METRICS.poolConnectionsClosed,
    "Connections closed since start (idle timeout, max lifetime, server or network)",
    () => pool().closed,
  );
  followingCounter(
    registry,
    METRICS.poolConnectionFailures,
    "Connection attempts that failed",
    () => pool().failed,
  );

  const poolWait = new Histogram({
    name: METRICS.poolWaitSeconds,
    help: "Time spent waiting for a pooled connection, including waits that timed out",
    buckets: POOL_WAIT_BUCKETS,
    registers,
  });
  const poolTimeouts = new Counter({
    name: METRICS.poolTimeouts,
    help: "Waits for a connection that ended in PoolTimeoutError (DATABASE_POOL_TIMEOUT)",
    registers,
  });

  const queryDuration = new Histogram({
    name: METRICS.queryDurationSeconds,
    help: "Statement duration from sending it to its last result (wait for a connection excluded)",
    labelNames: ["operation"],
    buckets: QUERY_BUCKETS,
    registers,
  });
  const queryRows = new Counter({
    name: METRICS.queryRows,
    help: "Rows returned, or affected by INSERT/UPDATE/DELETE/COPY",
    labelNames: ["operation"],
    registers,
  });
  const queryErrors = new Counter({
    name: METRICS.queryErrors,
    help:
      "Failed statements by SQLSTATE class (none: client side) and typed error; " +
      "statements that got no connection count as PoolTimeoutError",
    labelNames: ["sqlstate_class", "error"],
    registers,
  });
  const poolTimeoutErrors = queryErrors.labels("none", "PoolTimeoutError");
  const slowQueries = new Counter({
    name: METRICS.slowQueries,
    help: "Statements at or over DATABASE_SLOW_QUERY_MS (the query log's slow-query threshold)",
    labelNames: ["operation"],
    registers,
  });

  const transactions = new Counter({
    name: METRICS.transactions,
    help: "Outermost transactions by outcome",
    labelNames: ["outcome"],
    registers,
  });
  const transactionDuration = new Histogram({
    name: METRICS.transactionDurationSeconds,
    help: "Outermost transaction duration, BEGIN to COMMIT or ROLLBACK",
    labelNames: ["outcome"],
    buckets: TRANSACTION_BUCKETS,
    registers,
  });
  const retries = new Counter({
    name: METRICS.transactionRetries,
    help: "Transactions re-run by withTransaction after a serialization failure or deadlock",
    labelNames: ["reason"],
    registers,
  });
  const savepoints = new Counter({
    name: METRICS.savepoints,
    help: "Savepoints (nested transactions) by outcome",
    labelNames: ["outcome"],
    registers,
  });
  // Series that alerts divide by exist from the start, at 0, rather than after the first event.
  for (const outcome of ["commit", "rollback"]) {
    transactions.labels(outcome).inc(0);
    savepoints.labels(outcome).inc(0);
  }
  for (const reason of ["serialization", "deadlock"]) retries.labels(reason).inc(0);

  // Every named prepared statement stays on the server for its connection's life, one per
  // distinct text: a value spliced into SQL instead of bound makes this grow with traffic.
  // Bounded itself, so that such a bug can't also grow this process's memory.
  const preparedTexts = new Set<string>();
  new Gauge({
    name: METRICS.preparedStatements,
    help:
      "Distinct statement texts this process has sent as named prepared statements (each kept " +
      `by every connection that ran it); counting stops at ${MAX_TRACKED_STATEMENTS}`,
    registers,
    collect() {
      this.set(preparedTexts.size);
    },
  });

  // Every statement passes here: children are looked up once per operation, not per call
  // (prom-client hashes the label set on each `labels()`).
  const perOperation = new Map<
    string,
    { duration: Histogram.Internal<string>; rows: Counter.Internal }
  >();
  const listener: DatabaseListener = {
    query(event) {
      let series = perOperation.get(event.operation);
      if (series === undefined) {
        series = {
          duration: queryDuration.labels(event.operation),
          rows: queryRows.labels(event.operation),
        };
        perOperation.set(event.operation, series);
      }
      series.duration.observe(event.durationMs / 1000);
      series.rows.inc(event.rows ?? 0);
      if (event.prepared && preparedTexts.size < MAX_TRACKED_STATEMENTS) {
        preparedTexts.add(event.sql);
      }
      if (slowQueryMs > 0 && event.durationMs >= slowQueryMs) {
        slowQueries.labels(event.operation).inc();
      }
      // A pool timeout is counted from its wait event below, sent or not.
      if (event.error !== undefined && !(event.error instanceof PoolTimeoutError)) {
        const { sqlstateClass, error } = errorLabels(event.error);
        queryErrors.labels(sqlstateClass, error).inc();
      }
    },
    poolWait(event) {
      poolWait.observe(event.waitMs / 1000);
      if (event.outcome === "timeout") {
        poolTimeouts.inc();
        // The caller's statement (or transaction) failed with PoolTimeoutError before it was
        // sent: no query event comes for it.
        poolTimeoutErrors.inc();
      }
    },
    transaction(event) {
      if (event.savepoint) {
        savepoints.labels(event.outcome).inc();
        return;
      }
      transactions.labels(event.outcome).inc();
      transactionDuration.labels(event.outcome).observe(event.durationMs / 1000);
    },
    retry(event) {
      retries.labels(retryReason(event.error)).inc();
    },
  };
  return database.listen(listener);
}
