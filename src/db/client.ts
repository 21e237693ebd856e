/**
 * The one owner of the database connection: builds the schema-aware Drizzle instance from
 * config, and is the only thing that can close it. Nothing connects at import time.
 *
 * - `postgres://` URL -> a postgres.js pool (TLS, timeouts, application_name per config);
 * - no URL            -> embedded PGlite (a WASM PostgreSQL in this process), for zero setup.
 *
 * Drizzle is given an instrumented client (driver/postgres.ts, driver/pglite.ts) built on each
 * driver's documented API, so every query of `db` and of its transactions:
 * - waits for a connection at most `DATABASE_POOL_TIMEOUT` (`PoolTimeoutError`; pool-gate.ts);
 * - is timed and reported to the listeners (`database.listen`): the query log, metrics, tracing;
 * - is refused with `TransactionEndedError` when sent through a transaction that has ended;
 * - is prepared as a named statement when that pays off (`DATABASE_PREPARE`, ADR 0003).
 *
 * @example
 * const database = await createDatabase(config.database, { logger });
 * const rows = await database.db.select().from(users).limit(10);
 * await database.close();
 */
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { withReplicas } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import type { DatabaseConfig } from "../env.js";
import type { Logger } from "../logger.js";
import { parseDatabaseUrl } from "./connection-url.js";
import { type DriverContext, registerContext } from "./driver/context.js";
import { instrumentPglite } from "./driver/pglite.js";
import { instrumentPostgres } from "./driver/postgres.js";
import { DatabaseEvents, type DatabaseListener, type PoolStats } from "./events.js";
import { type PingResult, pingPglite, pingPostgres } from "./health.js";
import { checkDrizzle } from "./internals/drizzle.js";
import { checkPostgresPatch } from "./internals/postgres.js";
import { isNewDataDir } from "./pglite-snapshot.js";
import { PoolGate } from "./pool-gate.js";
import { isMultiHost, newConnectionCounters, postgresOptions } from "./postgres-options.js";
import { createQueryObserver, type QueryMetricsSnapshot } from "./query-log.js";
import { ReplicaRouter, type ReplicaRoutingStats, registerRouter } from "./replicas.js";
import * as schema from "./schema/index.js";

export type Schema = typeof schema;
/** The Drizzle instance the app uses; the same type for postgres.js and PGlite. */
export type AppDatabase = PgDatabase<PgQueryResultHKT, Schema>;
export type AppTransaction = PgTransaction<
  PgQueryResultHKT,
  Schema,
  ExtractTablesWithRelations<Schema>
>;

export interface Database {
  readonly db: AppDatabase;
  readonly driver: "postgres" | "pglite";
  /**
   * The postgres.js pool itself, for what Drizzle doesn't do (LISTEN/NOTIFY, tools); undefined
   * on PGlite. Its queries bypass the pool gate, the query log and the metrics: prefer `db`.
   */
  readonly sql: postgres.Sql | undefined;
  /** The embedded database itself (same caveat as `sql`); undefined on postgres.js. */
  readonly pglite: PGlite | undefined;
  readonly config: DatabaseConfig;
  /** `SELECT 1` bounded by `timeoutMs`; rejects with a typed error, never hangs. */
  ping(timeoutMs?: number): Promise<PingResult>;
  /** Adds a listener of queries, waits, transactions and retries; returns its removal. */
  listen(listener: DatabaseListener): () => void;
  /** Connections open, idle and in use, callers waiting, and totals since start. */
  poolStats(): PoolStats;
  /**
   * Where reads went and each replica's lag and rotation (`DATABASE_REPLICA_URLS`; replicas.ts);
   * undefined without replicas. `poolStats` and `ping` are the primary's.
   */
  replicaStats(): ReplicaRoutingStats | undefined;
  /** Counters and a latency histogram of every query sent through `db` so far. */
  queryMetrics(): QueryMetricsSnapshot;
  /** Waits up to `timeoutSeconds` for running queries, then closes every connection. */
  close(timeoutSeconds?: number): Promise<void>;
}

export interface CreateDatabaseOptions {
  logger?: Logger | undefined;
  /** Overrides `poolMax` (tools that need a single connection). */
  max?: number;
  /**
   * PGlite only: when `pgliteDataDir` holds no database yet, start from this data directory
   * tarball (`pglite-snapshot.ts`) instead of running initdb. Ignored otherwise.
   */
  pgliteSnapshot?: Blob | undefined;
}

export async function createDatabase(
  config: DatabaseConfig,
  options: CreateDatabaseOptions = {},
): Promise<Database> {
  const { logger } = options;
  const drizzleCheck = await checkDrizzle();
  if (!drizzleCheck.tested) {
    logger?.warn(
      { drizzleOrm: drizzleCheck.version },
      "drizzle-orm release not yet listed in docs/internals.md; its shape check passed",
    );
  }
  const events = new DatabaseEvents((error) =>
    logger?.error({ err: error }, "a database listener threw; it keeps being called"),
  );
  const queryLog = createQueryObserver(config, logger);
  events.listen(queryLog);
  const max = config.driver === "pglite" ? 1 : (options.max ?? config.poolMax);
  const common = {
    config,
    listen: (listener: DatabaseListener) => events.listen(listener),
    queryMetrics: () => queryLog.metrics(),
  };

  if (config.driver === "postgres") {
    const primary = openPostgres(config, { max, events, logger });
    const replicas = config.replicas.map((replica) => {
      const name = hostOf(replica.url);
      return { name, ...openPostgres(replica, { max, events, logger, replica: name }) };
    });
    let db = primary.db;
    let router: ReplicaRouter | undefined;
    if (replicas.length > 0) {
      router = new ReplicaRouter({
        primary,
        replicas,
        maxLagMs: config.replicaMaxLagMs,
        checkMs: config.replicaCheckMs,
        logger,
      });
      const routing = router;
      events.listen(routing.listener);
      const [first, ...rest] = replicas.map((replica) => replica.db);
      db = withReplicas(primary.db, [first as AppDatabase, ...rest], () => routing.pick());
      registerContext(db, primary.context);
      registerRouter(db, routing);
      await routing.start();
    }
    return {
      ...common,
      db,
      driver: "postgres",
      sql: primary.sql,
      pglite: undefined,
      ping: (timeoutMs = 1000) => pingPostgres(primary.sql, timeoutMs),
      poolStats: primary.poolStats,
      replicaStats: () => router?.stats(),
      close: async (timeoutSeconds = 5) => {
        await router?.close();
        await Promise.all(
          [primary, ...replicas].map(({ sql }) => sql.end({ timeout: timeoutSeconds })),
        );
      },
    };
  }

  const gate = new PoolGate({ ...gateOptions(config, 1, events), depth: 1 });
  const context: DriverContext = { gate, events, statementNames: new Map(), prepare: false };
  const dataDir = config.pgliteDataDir;
  if (!dataDir.startsWith("memory://")) mkdirSync(dataDir, { recursive: true });
  const snapshot = isNewDataDir(dataDir) ? options.pgliteSnapshot : undefined;
  const pglite = await PGlite.create(dataDir, snapshot ? { loadDataDir: snapshot } : {});
  const db = drizzlePglite({
    client: instrumentPglite(pglite, context) as unknown as PGlite,
    schema,
  }) as unknown as AppDatabase;
  registerContext(db, context);
  let closed = false;
  return {
    ...common,
    db,
    driver: "pglite",
    sql: undefined,
    pglite,
    ping: (timeoutMs = 1000) => pingPglite(pglite, timeoutMs),
    replicaStats: () => undefined,
    poolStats: () => {
      const { inUse, inFlight, waiting, longestWaitMs, timeouts } = gate.stats();
      const open = closed ? 0 : 1;
      return {
        driver: "pglite",
        max: 1,
        open,
        idle: Math.max(0, open - inUse),
        inUse,
        inFlight,
        waiting,
        longestWaitMs,
        opened: 1,
        closed: closed ? 1 : 0,
        failed: 0,
        timeouts,
      };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await pglite.close();
    },
  };
}

interface OpenOptions {
  max: number;
  events: DatabaseEvents;
  logger: Logger | undefined;
  /** `host:port` when this pool reaches a read replica. */
  replica?: string | undefined;
}

/** One postgres.js pool behind its own gate and instrumented client, as Drizzle sees it. */
function openPostgres(config: DatabaseConfig, { max, events, logger, replica }: OpenOptions) {
  if (!config.url) throw new Error("database.url is required for the postgres driver");
  const gate = new PoolGate({
    ...gateOptions(config, max, events),
    depth: pipelineDepth(config, logger),
  });
  const context: DriverContext = {
    gate,
    events,
    statementNames: new Map(),
    prepare: config.prepare,
    replica,
  };
  const counters = isMultiHost(config.url) ? undefined : newConnectionCounters();
  const sql = postgres(config.url, { ...postgresOptions(config, logger, counters), max });
  const db = drizzlePostgres({
    client: instrumentPostgres(sql, context) as unknown as postgres.Sql,
    schema,
  }) as unknown as AppDatabase;
  registerContext(db, context);
  const poolStats = (): PoolStats => {
    const { inUse, inFlight, waiting, longestWaitMs, timeouts } = gate.stats();
    return {
      driver: "postgres",
      max,
      open: counters ? counters.open : null,
      idle: counters ? Math.max(0, counters.open - inUse) : null,
      inUse,
      inFlight,
      waiting,
      longestWaitMs,
      opened: counters ? counters.opened : null,
      closed: counters ? counters.closed : null,
      failed: counters ? counters.failed : null,
      timeouts,
    };
  };
  return { db, sql, context, poolStats };
}

const gateOptions = (config: DatabaseConfig, max: number, events: DatabaseEvents) => ({
  max,
  timeoutMs: config.poolTimeoutMs,
  onWait: (waitMs: number, outcome: "acquired" | "timeout") => {
    if (events.active) events.emit("poolWait", { waitMs, outcome });
  },
});

/** `host:port` of a replica URL, its name in logs, events and metric labels. */
const hostOf = (url: string | undefined) => {
  const { url: parsed, hosts } = parseDatabaseUrl(url ?? "");
  return hosts.length > 1 ? hosts.join(",") : `${parsed.hostname}:${parsed.port || "5432"}`;
};

/**
 * Queries per connection the gate admits: `DATABASE_PIPELINE` on postgres.js when the installed
 * copy carries the busy-queue patch (internals/postgres.ts), else 1. PGlite runs one query at a
 * time whatever it is sent, so queueing more in it would only hide the wait from the gate.
 */
function pipelineDepth(config: DatabaseConfig, logger: Logger | undefined) {
  if (config.driver === "pglite" || config.pipeline === 1) return 1;
  const installed = checkPostgresPatch();
  if (installed.queuePatched) return config.pipeline;
  logger?.warn(
    { postgres: installed.version, DATABASE_PIPELINE: config.pipeline },
    "postgres.js lacks the template's busy-queue patch (patches/; applied by `npm install`, " +
      "skipped by --ignore-scripts): running one query per connection, without pipelining",
  );
  return 1;
}

export { withPoolTimeout } from "./pool-gate.js";
export { postgresOptions } from "./postgres-options.js";
