/**
 * `createApp(deps)`: the Hono application, built from its dependencies and nothing else, so
 * the server and the tests each build their own (tests call `app.request(...)` in-process).
 */
import { swaggerUI } from "@hono/swagger-ui";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Database } from "../db/client.js";
import type { TransactionOptions } from "../db/transaction.js";
import type { Logger } from "../logger.js";
import { requestContext } from "./middleware/request-context.js";
import { problem, sendProblem, toProblem } from "./problem.js";
import { createRouter } from "./router.js";
import { createAccountsRouter } from "./routes/accounts/accounts.index.js";
import { createHealthRouter } from "./routes/health/health.index.js";
import { createStatsRouter } from "./routes/stats/stats.index.js";
import { createTransfersRouter } from "./routes/transfers/transfers.index.js";
import { createUsersRouter } from "./routes/users/users.index.js";

export interface AppDeps {
  database: Pick<Database, "db" | "ping">;
  logger: Logger;
  /**
   * Tag the query log's lines with the request id too (`AsyncLocalStorage`, ADR 0005); the
   * server passes `propagatesRequestContext(config)`. Default: on.
   */
  propagateRequestContext?: boolean;
}

const MiB = 1024 * 1024;
export const BODY_LIMIT = 1 * MiB;
export const BULK_BODY_LIMIT = 16 * MiB;
const BODY_METHODS = ["POST", "PUT", "PATCH"];

export function createApp({ database, logger, propagateRequestContext = true }: AppDeps) {
  const { db } = database;
  const transactionOptions = (requestId: string): TransactionOptions => ({
    maxAttempts: 10,
    onRetry: (error, attempt) =>
      logger.debug(
        { requestId, err: error, attempt },
        "retrying transaction after a transient failure",
      ),
    onHookError: (error) => logger.error({ requestId, err: error }, "transaction hook failed"),
  });

  const app = createRouter();
  const tooLarge = (c: Context) =>
    sendProblem(c, problem(413, "payload_too_large", "the request body is too large"));
  const defaultLimit = bodyLimit({ maxSize: BODY_LIMIT, onError: tooLarge });
  const bulkLimit = bodyLimit({ maxSize: BULK_BODY_LIMIT, onError: tooLarge });

  app.use(requestContext({ logger, propagate: propagateRequestContext }));
  // Registered for the methods with a body only, so GETs don't pass through it: the limit reads
  // `c.req.raw`, which makes the Node adapter build a full Request, measurably slowing each call.
  app.on(BODY_METHODS, "*", (c, next) =>
    (c.req.path === "/users/bulk" ? bulkLimit : defaultLimit)(c, next),
  );

  app
    .route("/", createHealthRouter({ database }))
    .route("/", createUsersRouter({ db }))
    .route("/", createAccountsRouter({ db }))
    .route("/", createTransfersRouter({ db, transactionOptions }))
    .route("/", createStatsRouter({ db }));

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Ledger demo API",
      version: "1.0.0",
      description:
        "Demo API of the PostgreSQL + Drizzle template. Errors are application/problem+json " +
        "(RFC 9457) with a stable `code`. Unknown JSON fields in request bodies are rejected " +
        "with 400. Bodies over 1 MiB (16 MiB for /users/bulk) are rejected with 413.",
    },
  });
  app.get("/docs", swaggerUI({ url: "/openapi.json", title: "Ledger demo API" }));

  app.notFound((c) => sendProblem(c, problem(404, "not_found", "no such route")));
  app.onError((error, c) => {
    const { problem: body, unexpected } = toProblem(error);
    if (unexpected) logger.error({ requestId: c.var.requestId, err: error }, "unhandled error");
    return sendProblem(c, body, body.status === 503 ? { "retry-after": "1" } : {});
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
