/**
 * Metrics, tracing and error reporting, built together from config: what `src/server.ts` hands
 * `createApp` as `observability`. docs/observability.md has what is exported and how to use it.
 *
 * @example
 * const observability = await createObservability({ config, database, logger });
 * const app = createApp({ database, logger, observability });
 * // ... on shutdown, before closing the database
 * await observability.close();
 */
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Database } from "../db/client.js";
import type { Config } from "../env.js";
import type { Logger } from "../logger.js";
import type { ObservedCache } from "./cache-metrics.js";
import type { ObservedDatabase } from "./database-metrics.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { createErrorReporter, type ReportError, type UnexpectedErrorHook } from "./report-error.js";
import type { Tracing, TracingOptions } from "./tracing.js";

export type { Metrics } from "./metrics.js";
export type {
  ReportError,
  UnexpectedErrorContext,
  UnexpectedErrorHook,
  UnexpectedErrorSource,
} from "./report-error.js";
export type { Tracing } from "./tracing.js";

/** What the app uses; every part is optional, so tests build the app with any subset. */
export interface AppObservability {
  /** Counts requests and serves `GET /metrics`. */
  metrics?: Metrics | undefined;
  /** The bearer token `GET /metrics` requires (`METRICS_TOKEN`); undefined: open. */
  metricsToken?: string | undefined;
  /** Opens a server span per request. */
  tracing?: Tracing | undefined;
  /** Where unexpected errors go; default: logged only. */
  reportError?: ReportError | undefined;
}

export interface Observability extends AppObservability {
  readonly reportError: ReportError;
  /** Stops listening, closes the metrics' own connection, flushes spans. */
  close(): Promise<void>;
}

export interface CreateObservabilityOptions {
  config: Pick<Config, "nodeEnv" | "database" | "metrics" | "tracing">;
  database: ObservedDatabase & Pick<Database, "pglite">;
  logger: Logger;
  /** Your error tracker: called with every unexpected error, after it was logged and counted. */
  onUnexpectedError?: UnexpectedErrorHook | undefined;
  /** Where spans go when tracing is on; default: a log line per span. */
  spanProcessors?: SpanProcessor[] | undefined;
  /** Who emits the spans (`service.name`, ...), for a collector; see `TracingOptions`. */
  resource?: TracingOptions["resource"];
  /** The result cache, counted by the `cache_*` metrics; undefined when it is off. */
  cache?: ObservedCache | undefined;
}

export async function createObservability({
  config,
  database,
  logger,
  onUnexpectedError,
  spanProcessors,
  resource,
  cache,
}: CreateObservabilityOptions): Promise<Observability> {
  const metrics = config.metrics.enabled
    ? createMetrics({ database, config, logger, cache })
    : undefined;
  if (metrics) {
    await metrics.refreshMigrations();
    if (config.metrics.token === undefined && config.nodeEnv === "production") {
      logger.warn(
        "METRICS_TOKEN is unset: GET /metrics is open to anyone who can reach the port " +
          "(set it, or keep the port private)",
      );
    }
  }

  let tracing: Tracing | undefined;
  let stopSpans: (() => void) | undefined;
  if (config.tracing.enabled) {
    // Loaded only when tracing is on: the OpenTelemetry SDK is a tenth of a second of a start.
    const [{ createLogSpanExporter, createTracing }, { BatchSpanProcessor }] = await Promise.all([
      import("./tracing.js"),
      import("@opentelemetry/sdk-trace-base"),
    ]);
    tracing = createTracing({
      spanProcessors: spanProcessors ?? [new BatchSpanProcessor(createLogSpanExporter(logger))],
      sampleRatio: config.tracing.sampleRatio,
      resource,
    });
    stopSpans = database.listen(tracing.databaseListener());
  }

  const reportError = createErrorReporter({
    logger,
    countUnexpectedError: metrics ? (source) => metrics.countUnexpectedError(source) : undefined,
    onUnexpectedError,
  });

  return {
    metrics,
    metricsToken: config.metrics.token,
    tracing,
    reportError,
    async close() {
      stopSpans?.();
      await metrics?.close();
      await tracing?.shutdown();
    },
  };
}
