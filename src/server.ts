/**
 * Process entry: env -> logger -> database -> app -> listen, and a graceful shutdown.
 *
 * On the embedded database (no DATABASE_URL) pending migrations are applied and an empty
 * database gets the demo data on start, so `npm run dev` works with nothing installed. Against a
 * real server, migrations are a deploy step (`npm run db:migrate`), never a side effect of booting.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { createDatabase, type Database } from "./db/client.js";
import { isNewDataDir, loadSnapshot, saveSnapshot, snapshotFile } from "./db/pglite-snapshot.js";
import { users } from "./db/schema/index.js";
import { checkConnectionBudgetAtStart } from "./doctor/startup.js";
import { type Config, loadServerConfig, redactUrl } from "./env.js";
import { LISTENER_OPTIONS } from "./http/middleware/request-context.js";
import { createLogger, type Logger, propagatesRequestContext } from "./logger.js";
import { MIGRATIONS_FOLDER, migrateDatabase } from "./migrator/migrate.js";

async function main() {
  const config = loadServerConfig();
  const logger = createLogger(config);
  if (config.security.apiTokens.length === 0) {
    logger.warn(
      { apiAuth: config.security.apiAuth },
      "API_TOKENS is unset: POST, PUT, PATCH and DELETE are open to anyone who can reach the port",
    );
  }
  const opening =
    config.database.driver === "pglite"
      ? openEmbeddedDatabase(config, logger)
      : createDatabase(config.database, { logger });
  // Awaited below; a failure meanwhile is not an unhandled rejection, it is startup's error.
  opening.catch(() => undefined);
  // Loaded while the database opens (PGlite compiles its WebAssembly off the main thread).
  const [{ createApp }, { createObservability }, { createCache }] = await Promise.all([
    import("./http/app.js"),
    import("./observability/index.js"),
    import("./cache/index.js"),
  ]);
  const database = await opening;
  logger.info(
    {
      driver: database.driver,
      database: redactUrl(config.database.url),
      ...(config.database.replicas.length > 0
        ? { replicas: config.database.replicas.map((replica) => redactUrl(replica.url)) }
        : {}),
    },
    "database configured",
  );

  // Off (undefined) unless CACHE_REDIS_URL is set; a Redis that is down only costs the hit rate.
  const cache = await createCache(config.cache, { logger });
  if (cache) {
    logger.info(
      { redis: redactUrl(config.cache.redisUrl), ttlSeconds: config.cache.ttlSeconds },
      "result cache on",
    );
  }

  // Plug your error tracker in here: `onUnexpectedError` (docs/observability.md).
  const observability = await createObservability({ config, database, logger, cache });
  const app = createApp({
    database,
    logger,
    propagateRequestContext: propagatesRequestContext(config),
    observability,
    security: config.security,
    onSecurityEvent: (event) => observability.metrics?.countSecurityEvent(event),
    cache,
  });
  const server = serve(
    {
      fetch: app.fetch,
      port: config.port,
      hostname: config.host,
      serverOptions: LISTENER_OPTIONS,
    },
    (info) => logger.info({ url: urlOf(info) }, "listening"),
  ) as Server;
  // After listening, so that a slow or unreadable server never delays the start.
  void checkConnectionBudgetAtStart(database, config, logger);
  // Longer than common load balancer idle timeouts (60 s), so they close first, not us.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: no new connections, finishing in-flight requests");
    const force = setTimeout(() => {
      logger.warn("shutdown timeout: closing remaining connections");
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    force.unref();
    await new Promise<void>((resolve) => {
      // Keep-alive sockets would hold close() open until they time out: close each one as soon
      // as it goes idle, which for a socket with a request in flight is right after its response.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      server.close(() => {
        clearInterval(sweep);
        resolve();
      });
      server.closeIdleConnections();
    });
    await observability.close();
    await cache?.close();
    await database.close();
    logger.info("stopped");
    logger.flush?.();
    process.exitCode ??= 0;
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  // A bug that escaped every handler: reported, then the process stops as Node would have
  // (exit code 1), but only after in-flight requests finished and the pool was drained.
  process.on("uncaughtException", (error) => {
    observability.reportError(error, { source: "uncaught_exception" });
    process.exitCode = 1;
    void shutdown("uncaughtException");
  });
  process.on("unhandledRejection", (reason) => {
    observability.reportError(reason, { source: "unhandled_rejection" });
    process.exitCode = 1;
    void shutdown("unhandledRejection");
  });
}

/**
 * The embedded database, ready for the demo: migrated, with demo data if it had none. A new data
 * directory starts as a copy of a migrated and seeded database cached by an earlier start
 * (db/pglite-snapshot.ts), which takes a fraction of the seconds initdb, the migrations and the
 * seed take; the first new directory after a change to the migrations or the seed builds it.
 */
async function openEmbeddedDatabase(config: Config, logger: Logger): Promise<Database> {
  const { pgliteDataDir: dataDir } = config.database;
  if (config.nodeEnv === "production") {
    logger.warn("NODE_ENV=production on the embedded database: set DATABASE_URL for a real server");
  }
  const cache = isNewDataDir(dataDir)
    ? snapshotFile({ name: "seeded", inputs: [MIGRATIONS_FOLDER, SEEDS_FOLDER] })
    : undefined;
  const snapshot = cache ? loadSnapshot(cache) : undefined;
  const database = await createDatabase(config.database, { logger, pgliteSnapshot: snapshot });
  await migrateDatabase(database);
  const [anyUser] = await database.db.select({ id: users.id }).from(users).limit(1);
  if (!anyUser) {
    // Only an empty database needs the seed, so a restart doesn't load its code.
    const { seed } = await import("../seeds/index.js");
    logger.info({ seeded: await seed(database.db) }, "demo data loaded");
    if (cache && database.pglite) {
      await saveSnapshot(database.pglite, cache).catch((error: unknown) =>
        logger.warn({ err: error }, "could not cache the seeded database; the next start seeds"),
      );
    }
  }
  logger.info({ dataDir, fromSnapshot: snapshot !== undefined }, "embedded database ready");
  return database;
}

/** The seed's code (src/ and dist/src/ alike): part of what the cached seeded database is. */
const SEEDS_FOLDER = fileURLToPath(new URL("../seeds/", import.meta.url));

function urlOf(info: AddressInfo) {
  const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
  return `http://${host === "[::]" ? "localhost" : host}:${info.port}`;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `startup failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
