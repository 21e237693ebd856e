/**
 * `createApp(deps)`: the Hono application, built from its dependencies and nothing else, so
 * the server and the tests each build their own (tests call it in-process through
 * `testClient(app)`, typed by the routes' contracts, or `app.request(...)`).
 */
import type { Context } from "hono";
import type { ResultCache } from "../cache/index.js";
import type { Database } from "../db/client.js";
import type { TransactionOptions } from "../db/transaction.js";
import type { SecurityConfig } from "../env.js";
import type { Logger } from "../logger.js";
import { httpTracing } from "../observability/http-tracing.js";
import type { AppObservability } from "../observability/index.js";
import { createErrorReporter } from "../observability/report-error.js";
import type { SecurityEventHook } from "../security/events.js";
import { createRateLimiter } from "../security/rate-limiter.js";
import { createTokenVerifier } from "../security/tokens.js";
import { bodyLimit } from "./middleware/body-limit.js";
import { corsForOrigins } from "./middleware/cors.js";
import { httpMetrics } from "./middleware/http-metrics.js";
import { rateLimit } from "./middleware/rate-limit.js";
import { requestContext } from "./middleware/request-context.js";
import { requireToken } from "./middleware/require-token.js";
import { BEARER_SCHEME } from "./openapi-helpers.js";
import { problem, sendProblem, toProblem } from "./problem.js";
import { createRouter } from "./router.js";
import { createAccountsRouter } from "./routes/accounts/accounts.index.js";
import { createDocsRouter } from "./routes/docs/docs.index.js";
import { createHealthRouter } from "./routes/health/health.index.js";
import { createMeRouter } from "./routes/me/me.index.js";
import { createMetricsRouter } from "./routes/metrics/metrics.index.js";
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
  /**
   * Metrics (`GET /metrics`), tracing and error reporting (src/observability); the server
   * passes `createObservability(...)`. Without it: none of them, unexpected errors just logged.
   */
  observability?: AppObservability;
  /**
   * Write tokens, rate limit, CORS (docs/security.md); the server passes `config.security`.
   * Each part left out is off: writes open, no rate limit, no CORS headers.
   */
  security?: Partial<SecurityConfig>;
  /** Called once per refused write, rate-limited request and oversize body: count them here. */
  onSecurityEvent?: SecurityEventHook;
  /**
   * Read-through cache of the hot point reads (GET /users/{id}, /accounts/{id}), invalidated
   * after the commits that change them (src/cache); the server passes `createCache(...)`.
   * Without it every read goes to the database.
   */
  cache?: ResultCache | undefined;
}

const MiB = 1024 * 1024;
const BODY_LIMIT = 1 * MiB;
const BULK_BODY_LIMIT = 16 * MiB;
const BODY_METHODS = ["POST", "PUT", "PATCH"];
const WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"];
const TITLE = "Ledger demo API";
/** The audit log's actor for writes while no API_TOKENS are configured (writes are open). */
const ANONYMOUS_ACTOR = "anonymous";

export function createApp({
  database,
  logger,
  propagateRequestContext = true,
  observability = {},
  security = {},
  onSecurityEvent,
  cache,
}: AppDeps) {
  const { db } = database;
  const { metrics, tracing } = observability;
  const reportError = observability.reportError ?? createErrorReporter({ logger });
  // Every write of a request runs in a transaction that tells the audit log's triggers who made
  // it and in which request (docs/security.md, "Audit log").
  const transactionOptions = (requestId: string, actor?: string): TransactionOptions => ({
    settings: { "app.actor": actor ?? ANONYMOUS_ACTOR, "app.request_id": requestId },
    maxAttempts: 10,
    onRetry: (error, attempt) =>
      logger.debug(
        { requestId, err: error, attempt },
        "retrying transaction after a transient failure",
      ),
    onHookError: (error) => reportError(error, { source: "transaction_hook", requestId }),
  });

  const { apiTokens = [], rateLimit: limits, trustProxy = 0, corsOrigins = [] } = security;
  const { actorTokenSecret } = security;
  const verifier = apiTokens.length > 0 ? createTokenVerifier(apiTokens) : undefined;

  const app = createRouter();
  app.use(requestContext({ logger, propagate: propagateRequestContext }));
  if (tracing) app.use(httpTracing({ tracing }));
  if (metrics) app.use(httpMetrics({ metrics }));
  // Before the rate limit and the token check, so that their refusals reach the browser too.
  if (corsOrigins.length > 0) app.use(corsForOrigins(corsOrigins));
  // Before the token check: guessing tokens is limited like anything else.
  if (limits) {
    const limiter = createRateLimiter(limits);
    app.use(rateLimit({ limiter, verifier, trustProxy, onSecurityEvent }));
  }
  // Only the methods that change data (reads never pass through it), before their bodies are read.
  if (verifier) app.on(WRITE_METHODS, "*", requireToken({ verifier, trustProxy, onSecurityEvent }));
  app.on(
    BODY_METHODS,
    "*",
    bodyLimit({
      maxBytes: (c: Context) => (c.req.path === "/users/bulk" ? BULK_BODY_LIMIT : BODY_LIMIT),
      onSecurityEvent,
    }),
  );

  // Chained, so that the type of `api` (the same object as `app`) accumulates every route's
  // contract: `testClient(app)` and `hc<App>` get typed inputs and responses from it.
  const api = app
    .route("/", createHealthRouter({ database }))
    .route("/", createUsersRouter({ db, cache, transactionOptions }))
    .route("/", createAccountsRouter({ db, cache, transactionOptions }))
    .route("/", createTransfersRouter({ db, transactionOptions, cache }))
    .route("/", createStatsRouter({ db }))
    // Owner-scoped reads: a per-user token names the actor, row-level security holds it to its rows.
    .route("/", createMeRouter({ db, actorTokenSecret, trustProxy, onSecurityEvent }));

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: TITLE,
      version: "1.0.0",
      description:
        "Demo API of the PostgreSQL + Drizzle template. Errors are application/problem+json " +
        "(RFC 9457) with a stable `code`. Unknown JSON fields in request bodies are rejected " +
        "with 400. Bodies over 1 MiB (16 MiB for /users/bulk) are rejected with 413. When the " +
        "server has API tokens, POST, PATCH and DELETE require `Authorization: Bearer <token>` " +
        "(401 otherwise). Each client has a rate limit: over it, 429 with `Retry-After`.",
    },
  });
  app.openAPIRegistry.registerComponent("securitySchemes", BEARER_SCHEME, {
    type: "http",
    scheme: "bearer",
    description: "One of the server's API_TOKENS; required by the routes that change data",
  });
  app.route("/", createDocsRouter({ specUrl: "/openapi.json", title: TITLE }));
  if (metrics) app.route("/", createMetricsRouter({ metrics, token: observability.metricsToken }));

  app.notFound((c) => sendProblem(c, problem(404, "not_found", "no such route")));
  app.onError((error, c) => {
    const { problem: body, unexpected } = toProblem(error);
    if (unexpected) reportError(error, { source: "http", requestId: c.var.requestId });
    return sendProblem(c, body, body.status === 503 ? { "retry-after": "1" } : undefined);
  });
  return api;
}

export type App = ReturnType<typeof createApp>;
