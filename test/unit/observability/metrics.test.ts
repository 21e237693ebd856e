import { afterEach, describe, expect, it } from "vitest";
import { DatabaseError, mapDatabaseError, PoolTimeoutError } from "../../../src/db/errors.js";
import { parseConfig } from "../../../src/env.js";
import { METRICS } from "../../../src/observability/metric-names.js";
import { createMetrics, type Metrics } from "../../../src/observability/metrics.js";
import type { ServerStats } from "../../../src/observability/server-stats.js";
import { captureLogs } from "../../integration/db/helpers.js";
import {
  driverError,
  fakeDatabase,
  parseMetrics,
  sampleValue,
  seriesOf,
} from "../../integration/observability/helpers.js";

const config = parseConfig({
  DATABASE_URL: "postgres://app@db.invalid:5432/app",
  DATABASE_SLOW_QUERY_MS: "100",
});
const migrations = async () => ({
  applied: 3,
  pending: 1,
  lastAppliedAt: new Date("2025-01-02T03:04:05Z"),
});
const SERVER_STATS: ServerStats = {
  sessions: {
    active: 2,
    idle: 5,
    idle_in_transaction: 1,
    idle_in_transaction_aborted: 0,
    other: 0,
  },
  maxConnections: 100,
  longestTransactionSeconds: 12.5,
  idleInTransaction: 1,
  deadlocks: 4,
};

const opened: Metrics[] = [];
afterEach(async () => {
  for (const metrics of opened.splice(0)) await metrics.close();
});

function setup(options: { stats?: () => Promise<ServerStats>; cacheMs?: number } = {}) {
  const database = fakeDatabase();
  const logs = captureLogs("info");
  let reads = 0;
  const metrics = createMetrics({
    database,
    config,
    logger: logs.logger,
    migrations,
    serverStats: {
      read: () => {
        reads++;
        return (options.stats ?? (async () => SERVER_STATS))();
      },
      close: async () => undefined,
    },
    serverStatsCacheMs: options.cacheMs ?? 0,
  });
  opened.push(metrics);
  const scrape = async () => parseMetrics(await metrics.render());
  return { database, metrics, scrape, logs: logs.lines, reads: () => reads };
}

/** What `withTransaction` hands a retry event: the typed error. */
function typed(error: unknown): DatabaseError {
  const mapped = mapDatabaseError(error);
  if (!(mapped instanceof DatabaseError)) throw new Error("not a database error");
  return mapped;
}

const query = {
  sql: "select * from users where id = $1",
  params: ["secret@example.com"],
  operation: "select",
  startedAt: Date.now(),
  durationMs: 4,
  rows: 1 as number | undefined,
  inTransaction: false,
  prepared: false,
};

describe("createMetrics", () => {
  it("exports exactly the names of metric-names.ts besides Node's default metrics", async () => {
    const { metrics } = setup();
    const names = metrics.registry.getMetricsAsArray().map((m) => m.name);
    const own = names.filter((n) => !/^(process|nodejs)_/.test(n));
    expect(own.sort()).toEqual(Object.values(METRICS).sort());
    expect(names.some((n) => n.startsWith("nodejs_"))).toBe(true);
    expect(metrics.contentType).toContain("text/plain");
  });

  it("reads the pool at scrape time, counters following the pool's totals", async () => {
    const { database, scrape } = setup();
    database.setPool({ open: 4, idle: 1, inUse: 3, waiting: 2, longestWaitMs: 1500, opened: 6 });
    let samples = await scrape();
    expect(sampleValue(samples, METRICS.poolConnections, { state: "idle" })).toBe(1);
    expect(sampleValue(samples, METRICS.poolConnections, { state: "in_use" })).toBe(3);
    expect(sampleValue(samples, METRICS.poolMaxConnections)).toBe(10);
    expect(sampleValue(samples, METRICS.poolWaitingRequests)).toBe(2);
    expect(sampleValue(samples, METRICS.poolLongestWaitSeconds)).toBe(1.5);
    expect(sampleValue(samples, METRICS.poolConnectionsOpened)).toBe(6);
    database.setPool({ opened: 9, closed: 2, failed: 1, waiting: 0 });
    samples = await scrape();
    expect(sampleValue(samples, METRICS.poolConnectionsOpened)).toBe(9);
    expect(sampleValue(samples, METRICS.poolConnectionsClosed)).toBe(2);
    expect(sampleValue(samples, METRICS.poolConnectionFailures)).toBe(1);
    expect(sampleValue(samples, METRICS.poolWaitingRequests)).toBe(0);
  });

  it("leaves counts the pool can't know (multi-host URL) out", async () => {
    const { database, scrape } = setup();
    database.setPool({ open: null, idle: null, opened: null, closed: null, failed: null });
    const samples = await scrape();
    expect(sampleValue(samples, METRICS.poolConnections, { state: "idle" })).toBeUndefined();
    expect(sampleValue(samples, METRICS.poolConnections, { state: "in_use" })).toBe(0);
    expect(sampleValue(samples, METRICS.poolConnectionsOpened)).toBe(0);
  });

  it("counts distinct prepared statement texts, not executions or unprepared ones", async () => {
    const { database, scrape } = setup();
    for (let i = 0; i < 5; i++) database.emit("query", { ...query, prepared: true });
    database.emit("query", {
      ...query,
      sql: "select * from accounts where id = $1",
      prepared: true,
    });
    database.emit("query", { ...query, sql: "select 1", prepared: false });
    expect(sampleValue(await scrape(), METRICS.preparedStatements)).toBe(2);
  });

  it("times queries by operation, counts rows and slow ones at the query log's threshold", async () => {
    const { database, scrape } = setup();
    database.emit("query", query);
    database.emit("query", { ...query, operation: "user_by_id", durationMs: 100, rows: 0 });
    database.emit("query", { ...query, operation: "insert", durationMs: 99.9, rows: 25 });
    const samples = await scrape();
    const count = (operation: string) =>
      sampleValue(samples, `${METRICS.queryDurationSeconds}_count`, { operation });
    expect([count("select"), count("user_by_id"), count("insert")]).toEqual([1, 1, 1]);
    expect(
      sampleValue(samples, `${METRICS.queryDurationSeconds}_bucket`, {
        operation: "select",
        le: "0.005",
      }),
    ).toBe(1);
    expect(sampleValue(samples, METRICS.queryRows, { operation: "insert" })).toBe(25);
    expect(sampleValue(samples, METRICS.slowQueries, { operation: "user_by_id" })).toBe(1);
    expect(sampleValue(samples, METRICS.slowQueries, { operation: "insert" })).toBeUndefined();
  });

  it("counts failed statements by SQLSTATE class and typed error", async () => {
    const { database, scrape } = setup();
    const failed = (error: unknown) => database.emit("query", { ...query, rows: undefined, error });
    failed(driverError("40P01"));
    failed(driverError("40P01"));
    failed(driverError("57014"));
    failed(driverError("23505"));
    // Refused before it was sent: counted from the wait, once, whether or not a query reports it.
    database.emit("poolWait", { waitMs: 300, outcome: "timeout" });
    failed(new PoolTimeoutError(300));
    failed(new TypeError("not from the database"));
    const samples = await scrape();
    const errors = (sqlstate_class: string, error: string) =>
      sampleValue(samples, METRICS.queryErrors, { sqlstate_class, error });
    expect(errors("40", "DeadlockError")).toBe(2);
    expect(errors("57", "DatabaseTimeoutError")).toBe(1);
    expect(errors("23", "UniqueViolationError")).toBe(1);
    expect(errors("none", "PoolTimeoutError")).toBe(1);
    expect(errors("none", "other")).toBe(1);
    // Values never become labels.
    expect(JSON.stringify(samples)).not.toContain("secret@example.com");
  });

  it("counts transactions, savepoints, retries by reason and pool waits", async () => {
    const { database, scrape } = setup();
    const ended = { startedAt: Date.now(), durationMs: 20 };
    database.emit("transaction", { ...ended, outcome: "commit", savepoint: false });
    database.emit("transaction", { ...ended, outcome: "rollback", savepoint: false });
    database.emit("transaction", { ...ended, outcome: "rollback", savepoint: true });
    const retry = (code: string) => ({ error: typed(driverError(code)), attempt: 1 });
    database.emit("retry", retry("40P01"));
    database.emit("retry", retry("40001"));
    database.emit("retry", retry("40001"));
    database.emit("poolWait", { waitMs: 40, outcome: "acquired" });
    database.emit("poolWait", { waitMs: 300, outcome: "timeout" });
    const samples = await scrape();
    expect(sampleValue(samples, METRICS.transactions, { outcome: "commit" })).toBe(1);
    expect(sampleValue(samples, METRICS.transactions, { outcome: "rollback" })).toBe(1);
    expect(sampleValue(samples, METRICS.savepoints, { outcome: "rollback" })).toBe(1);
    expect(sampleValue(samples, METRICS.savepoints, { outcome: "commit" })).toBe(0);
    expect(
      sampleValue(samples, `${METRICS.transactionDurationSeconds}_count`, { outcome: "commit" }),
    ).toBe(1);
    expect(sampleValue(samples, METRICS.transactionRetries, { reason: "deadlock" })).toBe(1);
    expect(sampleValue(samples, METRICS.transactionRetries, { reason: "serialization" })).toBe(2);
    expect(sampleValue(samples, `${METRICS.poolWaitSeconds}_count`)).toBe(2);
    expect(sampleValue(samples, `${METRICS.poolWaitSeconds}_sum`)).toBeCloseTo(0.34);
    expect(sampleValue(samples, METRICS.poolTimeouts)).toBe(1);
  });

  it("reports the build, migrations and unexpected errors", async () => {
    const { metrics, scrape } = setup();
    await metrics.refreshMigrations();
    metrics.countUnexpectedError("http");
    const samples = await scrape();
    expect(seriesOf(samples, METRICS.buildInfo)).toEqual([
      {
        name: METRICS.buildInfo,
        labels: { version: "0.1.0", node_version: process.version, driver: "postgres" },
        value: 1,
      },
    ]);
    expect(sampleValue(samples, METRICS.migrationsApplied)).toBe(3);
    expect(sampleValue(samples, METRICS.migrationsPending)).toBe(1);
    expect(sampleValue(samples, METRICS.migrationLastAppliedSeconds)).toBe(
      Date.parse("2025-01-02T03:04:05Z") / 1000,
    );
    expect(sampleValue(samples, METRICS.unexpectedErrors, { source: "http" })).toBe(1);
    expect(sampleValue(samples, METRICS.unexpectedErrors, { source: "uncaught_exception" })).toBe(
      0,
    );
  });

  it("reads the server's statistics once per scrape and caches them", async () => {
    const { scrape, reads } = setup({ cacheMs: 60_000 });
    const samples = await scrape();
    expect(reads()).toBe(1);
    expect(sampleValue(samples, METRICS.serverConnections, { state: "idle" })).toBe(5);
    expect(sampleValue(samples, METRICS.serverConnections, { state: "other" })).toBe(0);
    expect(sampleValue(samples, METRICS.serverMaxConnections)).toBe(100);
    expect(sampleValue(samples, METRICS.serverLongestTransactionSeconds)).toBe(12.5);
    expect(sampleValue(samples, METRICS.serverIdleInTransactionSessions)).toBe(1);
    expect(sampleValue(samples, METRICS.serverDeadlocks)).toBe(4);
    await scrape();
    expect(reads()).toBe(1);
  });

  it("never fails a scrape on a failed read: counts it, keeps the last values, warns once", async () => {
    let fail = false;
    const { scrape, logs } = setup({
      stats: async () => {
        if (fail) throw new Error("statement timeout");
        return SERVER_STATS;
      },
    });
    await scrape();
    fail = true;
    await scrape();
    const samples = await scrape();
    expect(sampleValue(samples, METRICS.serverScrapeErrors)).toBe(2);
    expect(sampleValue(samples, METRICS.serverMaxConnections)).toBe(100);
    expect(logs.filter((l) => l.msg === "server statistics unavailable")).toHaveLength(1);
  });

  it("registers no server metrics when there is no reader (PGlite, METRICS_DB_STATS=false)", () => {
    const metrics = createMetrics({
      database: { ...fakeDatabase(), driver: "pglite" },
      config,
      logger: captureLogs().logger,
      migrations,
    });
    opened.push(metrics);
    const names = metrics.registry.getMetricsAsArray().map((m) => m.name);
    expect(names.filter((n) => n.startsWith("db_server_"))).toEqual([]);
  });

  it("stops listening on close", async () => {
    const { database, metrics } = setup();
    expect(database.listeners).toBe(1);
    await metrics.close();
    expect(database.listeners).toBe(0);
  });
});
