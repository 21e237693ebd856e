/**
 * Prometheus metrics for the app, on a registry of its own (not prom-client's global one, so
 * two apps in one process — tests — never share series): Node's default process metrics plus
 * exactly the names of `metric-names.ts`.
 *
 * - the data layer: `database-metrics.ts` (pool, queries, transactions, retries);
 * - the server's own statistics: `server-stats.ts` (postgres.js only, `METRICS_DB_STATS`);
 * - migrations: `migration-metrics.ts`;
 * - HTTP requests, observed by `src/http/middleware/http-metrics.ts`;
 * - the build, and unexpected errors (counted by `report-error.ts`).
 *
 * @example
 * const metrics = createMetrics({ database, config, logger });
 * await metrics.refreshMigrations();
 * const text = await metrics.render(); // what GET /metrics answers, as metrics.contentType
 * await metrics.close();
 */

import { readFileSync } from "node:fs";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Database } from "../db/client.js";
import type { Config } from "../env.js";
import type { Logger } from "../logger.js";
import { SECURITY_EVENTS, type SecurityEvent } from "../security/events.js";
import { type ObservedCache, registerCacheMetrics } from "./cache-metrics.js";
import { type ObservedDatabase, registerDatabaseMetrics } from "./database-metrics.js";
import { METRICS } from "./metric-names.js";
import {
  type MigrationStateReader,
  migrationStateReader,
  registerMigrationMetrics,
} from "./migration-metrics.js";
import { type ObservedReplicas, registerReplicaMetrics } from "./replica-metrics.js";
import { UNEXPECTED_ERROR_SOURCES, type UnexpectedErrorSource } from "./report-error.js";
import {
  createServerStatsReader,
  registerServerStatsMetrics,
  type ServerStatsReader,
} from "./server-stats.js";

export interface CreateMetricsOptions {
  database: ObservedDatabase & ObservedReplicas & Pick<Database, "pglite">;
  config: Pick<Config, "database" | "metrics">;
  logger: Logger;
  /** How to read the migration state; default: the migration runner on `database`. */
  migrations?: MigrationStateReader | undefined;
  /**
   * Where the `db_server_*` values come from; default: a connection of their own on postgres.js
   * when `METRICS_DB_STATS` is on, none on PGlite. `false`: no server metrics.
   */
  serverStats?: ServerStatsReader | false | undefined;
  /** How long one read of the server statistics serves scrapes. Default 5 s. */
  serverStatsCacheMs?: number | undefined;
  /** Bound on that read (its statement_timeout). Default 2 s. */
  serverStatsTimeoutMs?: number | undefined;
  /** The result cache (src/cache), whose totals the `cache_*` counters follow; none when off. */
  cache?: ObservedCache | undefined;
}

export interface Metrics {
  readonly registry: Registry;
  /** The Prometheus text format's content type, for the response. */
  readonly contentType: string;
  /** Collects everything (pool, server statistics) and renders the text format. */
  render(): Promise<string>;
  /** One completed HTTP request; labels must already be bounded (see http-metrics.ts). */
  observeRequest(method: string, route: string, statusClass: string, seconds: number): void;
  countUnexpectedError(source: UnexpectedErrorSource): void;
  /** A request the HTTP layer refused (src/security/events.ts). */
  countSecurityEvent(event: SecurityEvent): void;
  /** Reads the migration state again; never throws. */
  refreshMigrations(): Promise<void>;
  /** Stops listening to the database and closes the server statistics' connection. */
  close(): Promise<void>;
}

/** `version` of package.json, from src/ or from the build in dist/src/. */
const APP_VERSION = (() => {
  const path = import.meta.url.includes("/dist/") ? "../../../package.json" : "../../package.json";
  try {
    const { version } = JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown";
  }
})();

/** Seconds. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics({
  database,
  config,
  logger,
  migrations,
  serverStats,
  serverStatsCacheMs = 5_000,
  serverStatsTimeoutMs = 2_000,
  cache,
}: CreateMetricsOptions): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: METRICS.buildInfo,
    help: "Always 1; the labels say what is running",
    labelNames: ["version", "node_version", "driver"],
    registers,
  }).set({ version: APP_VERSION, node_version: process.version, driver: database.driver }, 1);

  const unexpectedErrors = new Counter({
    name: METRICS.unexpectedErrors,
    help: "Errors reported as unexpected (bugs), by where they surfaced",
    labelNames: ["source"],
    registers,
  });
  for (const source of UNEXPECTED_ERROR_SOURCES) unexpectedErrors.labels(source).inc(0);

  const securityEvents = new Counter({
    name: METRICS.securityEvents,
    help: "Requests refused by the HTTP layer: auth.refused, rate_limit.hit, body.too_large",
    labelNames: ["event"],
    registers,
  });
  for (const event of SECURITY_EVENTS) securityEvents.labels(event).inc(0);

  const httpRequests = new Counter({
    name: METRICS.httpRequests,
    help: "HTTP requests by method, route template and status class",
    labelNames: ["method", "route", "status_class"],
    registers,
  });
  const httpDuration = new Histogram({
    name: METRICS.httpRequestDurationSeconds,
    help: "HTTP request duration by method and route template, until the handler returned",
    labelNames: ["method", "route"],
    buckets: HTTP_BUCKETS,
    registers,
  });
  // One lookup per request instead of prom-client hashing two label sets.
  const httpSeries = new Map<
    string,
    { count: Counter.Internal; duration: Histogram.Internal<string> }
  >();

  const stopListening = registerDatabaseMetrics(registry, {
    database,
    slowQueryMs: config.database.slowQueryMs,
  });

  const statsReader =
    serverStats === false
      ? undefined
      : (serverStats ??
        (database.driver === "postgres" && config.metrics.databaseStats
          ? createServerStatsReader(config.database, { timeoutMs: serverStatsTimeoutMs })
          : undefined));
  if (statsReader) {
    registerServerStatsMetrics(registry, {
      reader: statsReader,
      cacheMs: serverStatsCacheMs,
      logger,
    });
  }

  registerCacheMetrics(registry, cache);
  registerReplicaMetrics(registry, database);

  const migrationMetrics = registerMigrationMetrics(registry, {
    read: migrations ?? migrationStateReader(database, config.database),
    logger,
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeRequest(method, route, statusClass, seconds) {
      const key = `${method} ${statusClass} ${route}`;
      let series = httpSeries.get(key);
      if (series === undefined) {
        series = {
          count: httpRequests.labels(method, route, statusClass),
          duration: httpDuration.labels(method, route),
        };
        httpSeries.set(key, series);
      }
      series.count.inc();
      series.duration.observe(seconds);
    },
    countUnexpectedError(source) {
      unexpectedErrors.labels(source).inc();
    },
    countSecurityEvent(event) {
      securityEvents.labels(event).inc();
    },
    refreshMigrations: () => migrationMetrics.refresh(),
    async close() {
      stopListening();
      await statsReader?.close();
    },
  };
}
