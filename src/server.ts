/**
 * Process entry: env -> logger -> database -> app -> listen, and a graceful shutdown.
 *
 * On the embedded database (no DATABASE_URL) pending migrations are applied and demo data is
 * seeded on start, so `npm run dev` works with nothing installed. Against a real server,
 * migrations are a deploy step (`npm run db:migrate`), never a side effect of booting.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { seed } from "../seeds/index.js";
import { createDatabase } from "./db/client.js";
import { loadServerConfig, redactUrl } from "./env.js";
import { createApp } from "./http/app.js";
import { LISTENER_OPTIONS } from "./http/middleware/request-context.js";
import { createLogger, propagatesRequestContext } from "./logger.js";
import { migrateDatabase } from "./migrator/migrate.js";
import { createObservability } from "./observability/index.js";

async function main() {
  const config = loadServerConfig();
  const logger = createLogger(config);
  if (config.security.apiTokens.length === 0) {
    logger.warn(
      { apiAuth: config.security.apiAuth },
      "API_TOKENS is unset: POST, PUT, PATCH and DELETE are open to anyone who can reach the port",
    );
  }
  const database = await createDatabase(config.database, { logger });
  logger.info(
    { driver: database.driver, database: redactUrl(config.database.url) },
    "database configured",
  );

  if (database.driver === "pglite" && config.nodeEnv === "production") {
    logger.warn("NODE_ENV=production on the embedded database: set DATABASE_URL for a real server");
  }
  if (database.driver === "pglite") {
    await migrateDatabase(database);
    const seeded = await seed(database.db);
    logger.info({ seeded, dataDir: config.database.pgliteDataDir }, "embedded database ready");
  }

  // Plug your error tracker in here: `onUnexpectedError` (docs/observability.md).
  const observability = await createObservability({ config, database, logger });
  const app = createApp({
    database,
    logger,
    propagateRequestContext: propagatesRequestContext(config),
    observability,
    security: config.security,
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
