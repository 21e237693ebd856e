/**
 * OpenTelemetry tracing, off unless `TRACING_ENABLED=true`: a server span per HTTP request
 * (`http-tracing.ts`) with a client span per query and per transaction under it, built from the
 * data layer's events (src/db/events.ts).
 *
 * - The provider is the SDK's `BasicTracerProvider`; where spans go is up to the span processors
 *   you hand it: the server logs them by default (`createLogSpanExporter`), and
 *   docs/observability.md shows how to send them to an OTLP collector instead.
 * - Spans find their parent through the active context, which needs
 *   `AsyncLocalStorageContextManager`. It is registered here, so only when tracing is on: on
 *   Node 20/22 AsyncLocalStorage makes every promise of the process pay a hook (ADR 0005).
 * - `createTracing` also registers its provider globally, so spans you start yourself with
 *   `trace.getTracer("...")` join the same traces.
 * - Spans never hold bound parameter values. A query span carries the statement's text (it has
 *   placeholders, not values) unless `queryText: false`; errors are recorded in their typed,
 *   value-free form.
 *
 * @example
 * const tracing = createTracing({
 *   spanProcessors: [new BatchSpanProcessor(createLogSpanExporter(logger))],
 *   sampleRatio: 0.1,
 * });
 * const stop = database.listen(tracing.databaseListener());
 * await tracing.shutdown(); // flushes what is buffered
 */
import {
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  ParentBasedSampler,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  type TracerConfig,
} from "@opentelemetry/sdk-trace-base";
import { DatabaseError, mapDatabaseError } from "../db/errors.js";
import type { DatabaseListener, QueryEvent, TransactionEvent } from "../db/events.js";
import type { Logger } from "../logger.js";
import { errorLabels, retryReason } from "./database-metrics.js";

export interface TracingOptions {
  /** Where finished spans go (a `BatchSpanProcessor` around an exporter, usually). */
  spanProcessors: SpanProcessor[];
  /** Share of new traces recorded; a request continuing a sampled trace is always recorded. */
  sampleRatio?: number;
  /** Put the statement's text on query spans as `db.query.text`. Default true. */
  queryText?: boolean;
  /** Who emits the spans (`service.name`, ...); default: the SDK's, `unknown_service:node`. */
  resource?: TracerConfig["resource"];
}

export interface Tracing {
  readonly tracer: Tracer;
  /** A `database.listen` listener that turns queries and transactions into spans. */
  databaseListener(): DatabaseListener;
  /** Ends tracing: flushes the processors and unregisters the global provider and context. */
  shutdown(): Promise<void>;
}

/** The instrumentation scope of the app's own spans. */
export const TRACER_NAME = "pg-drizzle-template";
/** Bulk INSERTs run to hundreds of kilobytes of SQL; the head identifies them. */
const MAX_QUERY_TEXT = 2_000;

export function createTracing({
  spanProcessors,
  sampleRatio = 1,
  queryText = true,
  resource,
}: TracingOptions): Tracing {
  const provider = new BasicTracerProvider({
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampleRatio) }),
    spanProcessors,
    ...(resource ? { resource } : {}),
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  // Both return false when something registered first (an APM agent, another instance): then
  // that one stays in charge, and this instance's spans still find their parents through it.
  const ownsContext = context.setGlobalContextManager(contextManager);
  if (!ownsContext) contextManager.disable();
  const ownsProvider = trace.setGlobalTracerProvider(provider);
  const tracer = provider.getTracer(TRACER_NAME);

  return {
    tracer,
    databaseListener: () => databaseSpans(tracer, queryText),
    async shutdown() {
      await provider.shutdown();
      if (ownsProvider) trace.disable();
      if (ownsContext) context.disable();
    },
  };
}

/**
 * Spans from the data layer's events. An event arrives when its query or transaction has
 * ended, in the caller's async context, so the span is created then, with its real start time
 * (`startedAt`), under the caller's active span. A transaction's queries therefore sit beside
 * it under the request span, not inside it: its span id doesn't exist before it ends.
 */
function databaseSpans(tracer: Tracer, queryText: boolean): DatabaseListener {
  return {
    query(event: QueryEvent) {
      const span = tracer.startSpan(
        event.operation,
        {
          kind: SpanKind.CLIENT,
          startTime: event.startedAt,
          attributes: {
            "db.system.name": "postgresql",
            "db.operation.name": event.operation,
            ...(queryText ? { "db.query.text": truncate(event.sql) } : {}),
            ...(event.rows === undefined ? {} : { "db.response.returned_rows": event.rows }),
          },
        },
        context.active(),
      );
      if (event.error !== undefined) failed(span, event.error);
      span.end(event.startedAt + event.durationMs);
    },
    transaction(event: TransactionEvent) {
      const span = tracer.startSpan(
        event.savepoint ? "savepoint" : "transaction",
        {
          kind: SpanKind.CLIENT,
          startTime: event.startedAt,
          attributes: { "db.system.name": "postgresql", "db.transaction.outcome": event.outcome },
        },
        context.active(),
      );
      if (event.error !== undefined) failed(span, event.error);
      span.end(event.startedAt + event.durationMs);
    },
    retry(event) {
      trace.getActiveSpan()?.addEvent("db.transaction.retry", {
        "db.transaction.retry.reason": retryReason(event.error),
        "db.transaction.retry.attempt": event.attempt,
      });
    },
  };
}

/** Marks a database span failed with the typed error: class, SQLSTATE, value-free message. */
function failed(span: Span, error: unknown) {
  const mapped = mapDatabaseError(error);
  const { error: type } = errorLabels(error);
  const code = mapped instanceof DatabaseError ? mapped.code : undefined;
  span.setAttribute("error.type", type);
  if (code !== undefined) span.setAttribute("db.response.status_code", code);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    ...(mapped instanceof DatabaseError ? { message: mapped.message } : {}),
  });
}

const truncate = (text: string) =>
  text.length <= MAX_QUERY_TEXT ? text : `${text.slice(0, MAX_QUERY_TEXT)}…`;

/**
 * An exporter that writes each span as one log line ("span", at info): what the server uses
 * when tracing is on and no collector is plugged in. Good for development and for checking what
 * a collector would receive; under load, prefer an OTLP exporter (docs/observability.md).
 */
export function createLogSpanExporter(logger: Logger): SpanExporter {
  return {
    export(spans, done) {
      for (const span of spans) {
        const { traceId, spanId } = span.spanContext();
        const [seconds, nanos] = span.duration;
        logger.info(
          {
            span: {
              traceId,
              spanId,
              parentSpanId: span.parentSpanContext?.spanId,
              name: span.name,
              kind: SpanKind[span.kind],
              durationMs: Math.round((seconds * 1e3 + nanos / 1e6) * 100) / 100,
              status: span.status.code === SpanStatusCode.ERROR ? "error" : "ok",
              attributes: span.attributes,
            },
          },
          "span",
        );
      }
      done({ code: 0 }); // ExportResultCode.SUCCESS
    },
    shutdown: async () => undefined,
  };
}
