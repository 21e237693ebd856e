/**
 * The data layer's metrics, moved by the real conditions they exist for, read through
 * `GET /metrics` of the real app: a pool drained by slow queries, a pool timeout, a deadlock, a
 * statement timeout, a session idle in a transaction, and a server that doesn't answer.
 */
import { createServer, type Server } from "node:net";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../src/db/client.js";
import {
  DatabaseTimeoutError,
  mapDatabaseError,
  PoolTimeoutError,
} from "../../../src/db/errors.js";
import { users } from "../../../src/db/schema/index.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { parseConfig } from "../../../src/env.js";
import { createApp } from "../../../src/http/app.js";
import { readJournalTags } from "../../../src/migrator/index.js";
import { MIGRATIONS_FOLDER } from "../../../src/migrator/migrate.js";
import { METRICS } from "../../../src/observability/metric-names.js";
import { createMetrics, type Metrics } from "../../../src/observability/metrics.js";
import { captureLogs } from "../../setup/app.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { barrier, sleep, useDatabaseOn, usePglite, userRows, within } from "../db/helpers.js";
import { parseMetrics, sampleValue } from "./helpers.js";

// One query per connection, so that a slow query holds a connection (pipelining: pool-stats.test.ts).
const POOL = { DATABASE_POOL_MAX: "2", DATABASE_PIPELINE: "1", DATABASE_POOL_TIMEOUT: "10000" };
const testDb = useTestDatabase(POOL);
const tightPool = useDatabaseOn(() => testDb.url, {
  DATABASE_POOL_MAX: "1",
  DATABASE_PIPELINE: "1",
  DATABASE_POOL_TIMEOUT: "200",
});
const shortStatements = useDatabaseOn(() => testDb.url, { DATABASE_STATEMENT_TIMEOUT: "100" });
const pglite = usePglite({ DATABASE_POOL_TIMEOUT: "200" });

const opened: Metrics[] = [];
afterAll(async () => {
  for (const metrics of opened) await metrics.close();
});

/** The real app with metrics on `database`; `scrape()` is a GET /metrics, parsed. */
function appWithMetrics(database: Database) {
  const logs = captureLogs();
  const metrics = createMetrics({
    database,
    config: parseConfig({
      ...(database.config.url ? { DATABASE_URL: database.config.url } : {}),
      NODE_ENV: "test",
    }),
    logger: logs.logger,
    serverStatsCacheMs: 0,
  });
  opened.push(metrics);
  const app = createApp({ database, logger: logs.logger, observability: { metrics } });
  const scrape = async () => {
    const response = await app.request("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(metrics.contentType);
    return parseMetrics(await response.text());
  };
  return { app, metrics, scrape };
}

const MIGRATION_COUNT = readJournalTags(MIGRATIONS_FOLDER).length;

/** Polls `check` until it passes (the server flushes some statistics asynchronously). */
async function eventually(check: () => Promise<void>, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

describe.skipIf(!onRealServer())(`on a PostgreSQL server (${NEEDS_SERVER})`, () => {
  it("shows waiting callers while slow queries hold every connection", async () => {
    const { scrape } = appWithMetrics(testDb.database);
    const { db } = testDb.database;
    // `.then` sends a Drizzle query; without it, nothing runs.
    const sleepers = Array.from({ length: 4 }, () =>
      db.execute(sql`select pg_sleep(0.8)`).then(() => undefined),
    );
    await within(
      2_000,
      (async () => {
        while (testDb.database.poolStats().waiting < 2) await sleep(10);
      })(),
      "two callers waiting",
    );
    const during = await scrape();
    expect(sampleValue(during, METRICS.poolWaitingRequests)).toBe(2);
    expect(sampleValue(during, METRICS.poolConnections, { state: "in_use" })).toBe(2);
    expect(sampleValue(during, METRICS.poolMaxConnections)).toBe(2);
    expect(sampleValue(during, METRICS.poolLongestWaitSeconds)).toBeGreaterThan(0);
    // The server sees the two sleeping sessions from its side.
    expect(sampleValue(during, METRICS.serverConnections, { state: "active" })).toBe(2);
    await Promise.all(sleepers);

    const after = await scrape();
    expect(sampleValue(after, METRICS.poolWaitingRequests)).toBe(0);
    // The two that waited for a connection waited for a sleeper: over half a second each.
    const waits = sampleValue(after, `${METRICS.poolWaitSeconds}_count`) ?? 0;
    const quick = sampleValue(after, `${METRICS.poolWaitSeconds}_bucket`, { le: "0.5" }) ?? 0;
    expect(waits - quick).toBeGreaterThanOrEqual(2);
    expect(sampleValue(after, METRICS.slowQueries, { operation: "select" })).toBe(4);
    expect(sampleValue(after, METRICS.poolConnectionsOpened)).toBeGreaterThanOrEqual(2);
  });

  it("counts a pool timeout and answers 503 for the request that hit it", async () => {
    const database = tightPool();
    const { app, scrape } = appWithMetrics(database);
    const holder = database.db.execute(sql`select pg_sleep(0.6)`).then(() => undefined);
    await sleep(50);
    const response = await app.request("/users?limit=1");
    expect(response.status).toBe(503);
    await holder;
    const samples = await scrape();
    expect(sampleValue(samples, METRICS.poolTimeouts)).toBe(1);
    expect(
      sampleValue(samples, METRICS.queryErrors, {
        sqlstate_class: "none",
        error: "PoolTimeoutError",
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, METRICS.httpRequests, {
        method: "GET",
        route: "/users",
        status_class: "5xx",
      }),
    ).toBe(1);
  });

  it("counts a real deadlock: the retry, the failed statement and the server's count", async () => {
    const { scrape } = appWithMetrics(testDb.database);
    const { db } = testDb.database;
    const [a, b] = [Math.floor(Math.random() * 1e9), Math.floor(Math.random() * 1e9) + 1e9];
    const bothHoldOne = barrier(2);
    // Each takes one advisory lock, waits for the other to hold its own, then asks for it.
    const lockInOrder = (first: number, second: number) =>
      withTransaction(db, async (tx, { attempt }) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${first})`);
        if (attempt === 1) await bothHoldOne();
        await tx.execute(sql`select pg_advisory_xact_lock(${second})`);
      });
    await within(10_000, Promise.all([lockInOrder(a, b), lockInOrder(b, a)]), "deadlock");

    const samples = await scrape();
    expect(sampleValue(samples, METRICS.transactionRetries, { reason: "deadlock" })).toBe(1);
    expect(
      sampleValue(samples, METRICS.queryErrors, { sqlstate_class: "40", error: "DeadlockError" }),
    ).toBe(1);
    expect(sampleValue(samples, METRICS.transactions, { outcome: "rollback" })).toBe(1);
    expect(sampleValue(samples, METRICS.transactions, { outcome: "commit" })).toBe(2);
    await eventually(async () => {
      expect(sampleValue(await scrape(), METRICS.serverDeadlocks)).toBeGreaterThanOrEqual(1);
    });
  });

  it("counts a statement timeout as DatabaseTimeoutError (SQLSTATE class 57)", async () => {
    const database = shortStatements();
    const { scrape } = appWithMetrics(database);
    const error = await database.db.execute(sql`select pg_sleep(1)`).catch((e: unknown) => e);
    expect(mapDatabaseError(error)).toBeInstanceOf(DatabaseTimeoutError);
    const samples = await scrape();
    expect(
      sampleValue(samples, METRICS.queryErrors, {
        sqlstate_class: "57",
        error: "DatabaseTimeoutError",
      }),
    ).toBe(1);
  });

  it("reads sessions idle in a transaction, the oldest transaction and max_connections", async () => {
    const { scrape } = appWithMetrics(testDb.database);
    const server = testDb.database.sql;
    if (!server) throw new Error("no postgres.js pool");
    const [setting] = await server<{ max_connections: string }[]>`show max_connections`;
    let during: ReturnType<typeof parseMetrics> = [];
    await withTransaction(testDb.database.db, async (tx) => {
      await tx.select().from(users).limit(1);
      await sleep(300);
      during = await scrape(); // the transaction's session sits idle meanwhile
    });
    expect(sampleValue(during, METRICS.serverIdleInTransactionSessions)).toBe(1);
    expect(sampleValue(during, METRICS.serverConnections, { state: "idle_in_transaction" })).toBe(
      1,
    );
    expect(sampleValue(during, METRICS.serverLongestTransactionSeconds)).toBeGreaterThanOrEqual(
      0.3,
    );
    expect(sampleValue(during, METRICS.serverMaxConnections)).toBe(
      Number(setting?.max_connections),
    );
    const after = await scrape();
    expect(sampleValue(after, METRICS.serverIdleInTransactionSessions)).toBe(0);
  });

  it("reports the migrations applied to the database", async () => {
    const { metrics, scrape } = appWithMetrics(testDb.database);
    await metrics.refreshMigrations();
    const samples = await scrape();
    expect(sampleValue(samples, METRICS.migrationsApplied)).toBe(MIGRATION_COUNT);
    expect(sampleValue(samples, METRICS.migrationsPending)).toBe(0);
    expect(sampleValue(samples, METRICS.migrationLastAppliedSeconds)).toBeGreaterThan(0);
  });
});

describe("server statistics that can't be read", () => {
  let silent: Server | undefined;
  let port = 0;
  beforeAll(async () => {
    // Accepts connections and never answers: a network that swallows packets.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent?.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    port = typeof address === "object" && address ? address.port : 0;
  });
  afterAll(async () => {
    silent?.close();
  });

  it("answer the scrape within the bound, counted as a scrape error", async () => {
    const database = pglite();
    const logs = captureLogs();
    const metrics = createMetrics({
      database: { ...database, driver: "postgres" },
      config: parseConfig({ DATABASE_URL: `postgres://app@127.0.0.1:${port}/app` }),
      logger: logs.logger,
      serverStatsTimeoutMs: 300,
      serverStatsCacheMs: 0,
      migrations: async () => ({ applied: 0, pending: 0, lastAppliedAt: undefined }),
    });
    opened.push(metrics);
    const started = performance.now();
    const samples = parseMetrics(await metrics.render());
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(sampleValue(samples, METRICS.serverScrapeErrors)).toBe(1);
    expect(sampleValue(samples, METRICS.poolMaxConnections)).toBe(1);
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ level: 40, msg: "server statistics unavailable" }),
    );
  });
});

describe("on embedded PGlite", () => {
  it("shows a caller waiting while a transaction holds the only connection", async () => {
    const database = pglite();
    const { scrape } = appWithMetrics(database);
    let finish: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const holder = withTransaction(database.db, async (tx) => {
      await tx.select().from(users).limit(1);
      await held;
    });
    await sleep(20);
    const waiter = database.db.select().from(users).limit(1);
    const waiting = waiter.then(() => undefined);
    await sleep(20);
    const during = await scrape();
    expect(sampleValue(during, METRICS.poolWaitingRequests)).toBe(1);
    expect(sampleValue(during, METRICS.poolConnections, { state: "in_use" })).toBe(1);
    finish();
    await Promise.all([holder, waiting]);
    const after = await scrape();
    expect(sampleValue(after, METRICS.poolWaitingRequests)).toBe(0);
    expect(sampleValue(after, METRICS.transactions, { outcome: "commit" })).toBe(1);
  });

  it("counts a pool timeout and a unique violation", async () => {
    const database = pglite();
    const { scrape } = appWithMetrics(database);
    const error = await withTransaction(database.db, async () => {
      // Wrong on purpose: the root db inside a callback waits for the connection the callback holds.
      await database.db.select().from(users).limit(1);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolTimeoutError);
    const [row] = userRows(1, "metrics-unique");
    if (!row) throw new Error("no row");
    await database.db.insert(users).values(row);
    await database.db
      .insert(users)
      .values(row)
      .catch(() => undefined);
    const samples = await scrape();
    expect(sampleValue(samples, METRICS.poolTimeouts)).toBe(1);
    expect(
      sampleValue(samples, METRICS.queryErrors, {
        sqlstate_class: "23",
        error: "UniqueViolationError",
      }),
    ).toBe(1);
  });

  it("reports migrations and leaves the server statistics out", async () => {
    const { metrics, scrape } = appWithMetrics(pglite());
    await metrics.refreshMigrations();
    const samples = await scrape();
    expect(sampleValue(samples, METRICS.migrationsApplied)).toBe(MIGRATION_COUNT);
    expect(sampleValue(samples, METRICS.migrationsPending)).toBe(0);
    expect(samples.filter((s) => s.name.startsWith("db_server_"))).toEqual([]);
    expect(sampleValue(samples, METRICS.buildInfo, { driver: "pglite" })).toBe(1);
  });
});
