/**
 * The one owner of the database connection: builds the schema-aware Drizzle instance from
 * config, and is the only thing that can close it. Nothing connects at import time.
 *
 * - `postgres://` URL -> a postgres.js pool (TLS, timeouts, application_name per config);
 * - no URL            -> embedded PGlite (a WASM PostgreSQL in this process), for zero setup.
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
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import type { DatabaseConfig } from "../env.js";
import type { Logger } from "../logger.js";
import {
  ConnectionError,
  DatabaseTimeoutError,
  mapDatabaseError,
  PoolTimeoutError,
} from "./errors.js";
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
  /** The raw postgres.js pool (COPY, cursors, LISTEN); undefined on PGlite. */
  readonly sql: postgres.Sql | undefined;
  /** The embedded database; undefined on postgres.js. */
  readonly pglite: PGlite | undefined;
  readonly config: DatabaseConfig;
  /** `SELECT 1` bounded by `timeoutMs`; rejects with a typed error, never hangs. */
  ping(timeoutMs?: number): Promise<{ latencyMs: number }>;
  /** Waits up to `timeoutSeconds` for running queries, then closes every connection. */
  close(timeoutSeconds?: number): Promise<void>;
}

export interface CreateDatabaseOptions {
  logger?: Logger | undefined;
  /** Overrides `poolMax` (migrations use a single dedicated connection). */
  max?: number;
}

/** Builds the postgres.js options from config; exported for tools that need their own pool. */
export function postgresOptions(
  config: DatabaseConfig,
  logger?: Logger,
): postgres.Options<Record<string, postgres.PostgresType>> {
  return {
    max: config.poolMax,
    idle_timeout: config.idleTimeoutSeconds,
    max_lifetime: config.maxLifetimeSeconds || null,
    connect_timeout: config.connectTimeoutSeconds,
    prepare: config.prepare,
    ssl:
      config.ssl === "disable"
        ? false
        : config.ssl === "require"
          ? "require"
          : { rejectUnauthorized: true, ...(config.sslCa ? { ca: config.sslCa } : {}) },
    connection: {
      application_name: config.applicationName,
      ...(config.statementTimeoutMs > 0 ? { statement_timeout: config.statementTimeoutMs } : {}),
    },
    onnotice: (notice) => logger?.debug({ notice: notice.message }, "postgres notice"),
  };
}

export async function createDatabase(
  config: DatabaseConfig,
  options: CreateDatabaseOptions = {},
): Promise<Database> {
  const { logger } = options;
  if (config.driver === "postgres") {
    if (!config.url) throw new Error("database.url is required for the postgres driver");
    const sql = postgres(config.url, {
      ...postgresOptions(config, logger),
      ...(options.max ? { max: options.max } : {}),
    });
    const db = drizzlePostgres(guardPool(sql, config.poolTimeoutMs), {
      schema,
    }) as unknown as AppDatabase;
    return {
      db,
      driver: "postgres",
      sql,
      pglite: undefined,
      config,
      ping: (timeoutMs = 1000) => pingPostgres(sql, timeoutMs),
      close: (timeoutSeconds = 5) => sql.end({ timeout: timeoutSeconds }),
    };
  }

  const dataDir = config.pgliteDataDir;
  if (!dataDir.startsWith("memory://")) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir);
  const db = drizzlePglite(pglite, { schema }) as unknown as AppDatabase;
  let closed = false;
  return {
    db,
    driver: "pglite",
    sql: undefined,
    pglite,
    config,
    ping: (timeoutMs = 1000) =>
      withDeadline(
        pglite.query("select 1").then(() => undefined),
        timeoutMs,
      ),
    close: async () => {
      if (closed) return;
      closed = true;
      await pglite.close();
    },
  };
}

/**
 * postgres.js queues a query forever when every connection is busy. Used inside a transaction
 * callback on an exhausted pool, the root client would wait for a connection that only its own
 * caller can free (porsager/postgres#893). This guard gives each query Drizzle sends through the
 * root client `timeoutMs` to be handed a connection, then removes it from the queue and fails
 * it with `PoolTimeoutError`. Queries already running are never touched.
 */
function guardPool(sql: postgres.Sql, timeoutMs: number): postgres.Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property !== "unsafe") return Reflect.get(target, property, receiver);
      return (...args: Parameters<postgres.Sql["unsafe"]>) => {
        const query = target.unsafe(...args) as PendingQueryInternals;
        const timer = setTimeout(() => {
          if (query.state) return; // handed a connection: it is running, not waiting
          const reject = query.reject;
          query.reject = () => reject(new PoolTimeoutError(timeoutMs));
          query.cancel();
        }, timeoutMs);
        timer.unref();
        // Attaching a handler starts the query (postgres.js is lazy); Drizzle awaits it next.
        query.then(
          () => clearTimeout(timer),
          () => clearTimeout(timer),
        );
        return query;
      };
    },
  });
}

/** The parts of postgres.js's Query (v3.4) the pool guard relies on. */
type PendingQueryInternals = postgres.PendingQuery<postgres.Row[]> & {
  state: unknown;
  reject: (error: unknown) => void;
};

async function pingPostgres(sql: postgres.Sql, timeoutMs: number) {
  const query = sql`select 1`;
  try {
    return await withDeadline(
      query.then(() => undefined),
      timeoutMs,
      () => query.cancel(),
    );
  } catch (error) {
    throw mapDatabaseError(error);
  }
}

/** Resolves with the latency, or rejects with a typed timeout once `timeoutMs` has passed. */
async function withDeadline(
  work: Promise<void>,
  timeoutMs: number,
  onTimeout?: () => void,
): Promise<{ latencyMs: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new DatabaseTimeoutError("statement", { code: "HEALTH_TIMEOUT" }, undefined));
    }, timeoutMs);
  });
  try {
    await Promise.race([work, deadline]);
    return { latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch (error) {
    const mapped = mapDatabaseError(error);
    throw mapped instanceof Error
      ? mapped
      : new ConnectionError("ping failed", { code: undefined });
  } finally {
    clearTimeout(timer);
  }
}
