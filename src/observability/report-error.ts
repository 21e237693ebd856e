/**
 * The one place an unexpected error — a bug, not a 404 or a constraint violation — is reported:
 * the HTTP error handler, failing transaction hooks and the process's last-resort handlers all
 * come here. Each report:
 *
 * 1. logs one `error` line, "unhandled error", with the request id when there is one (typed
 *    database errors log their safe fields only, see the logger's serializer);
 * 2. counts `app_unexpected_errors_total{source}`;
 * 3. marks the active span (when tracing is on) as failed, with the error's type;
 * 4. hands the error to `onUnexpectedError`, your error tracker's hook.
 *
 * @example
 * // src/server.ts: send unexpected errors to an error tracker as well
 * const observability = await createObservability({
 *   config, database, logger,
 *   onUnexpectedError: (error, { source, requestId }) =>
 *     Sentry.captureException(error, { tags: { source }, extra: { requestId } }),
 * });
 */
import { SpanStatusCode, trace } from "@opentelemetry/api";
import { DatabaseError, mapDatabaseError } from "../db/errors.js";
import type { Logger } from "../logger.js";

/** Where an unexpected error surfaced; the metric's `source` label. */
export const UNEXPECTED_ERROR_SOURCES = [
  "http",
  "transaction_hook",
  "uncaught_exception",
  "unhandled_rejection",
] as const;
export type UnexpectedErrorSource = (typeof UNEXPECTED_ERROR_SOURCES)[number];

export interface UnexpectedErrorContext {
  source: UnexpectedErrorSource;
  /** The request being served, when there is one. */
  requestId?: string | undefined;
}

/**
 * Called once per unexpected error, after it was logged and counted. It must not throw (a
 * throw or a rejection is logged at warn and otherwise ignored). Database errors arrive typed
 * (`mapDatabaseError`), with a message free of values; their `cause` is still the driver's
 * error, whose message may hold bound parameters, so don't let a tracker walk `cause` chains
 * for them.
 */
export type UnexpectedErrorHook = (
  error: unknown,
  context: UnexpectedErrorContext,
) => void | Promise<void>;

export type ReportError = (error: unknown, context: UnexpectedErrorContext) => void;

export interface ErrorReporterOptions {
  logger: Logger;
  /** Counts each report; omitted: no metric. */
  countUnexpectedError?: ((source: UnexpectedErrorSource) => void) | undefined;
  onUnexpectedError?: UnexpectedErrorHook | undefined;
}

/** Builds the `reportError` function the app and the server share. */
export function createErrorReporter({
  logger,
  countUnexpectedError,
  onUnexpectedError,
}: ErrorReporterOptions): ReportError {
  const hookFailed = (hookError: unknown) =>
    logger.warn({ err: hookError }, "onUnexpectedError hook failed");
  return (error, context) => {
    logger.error(
      { source: context.source, requestId: context.requestId, err: error },
      "unhandled error",
    );
    countUnexpectedError?.(context.source);
    const span = trace.getActiveSpan();
    if (span) {
      const safe = safeException(error);
      span.recordException(safe);
      span.setStatus({ code: SpanStatusCode.ERROR, message: safe.message });
    }
    if (!onUnexpectedError) return;
    try {
      const result = onUnexpectedError(mapDatabaseError(error), context);
      if (result instanceof Promise) result.catch(hookFailed);
    } catch (hookError) {
      hookFailed(hookError);
    }
  };
}

/**
 * What a span may record of an error: a database error as its typed, parameter-free form (a
 * Drizzle error's own message carries the bound values), anything else by name and message.
 */
export function safeException(error: unknown): { name: string; message: string; stack?: string } {
  const mapped = mapDatabaseError(error);
  if (mapped instanceof DatabaseError) return { name: mapped.name, message: mapped.message };
  if (mapped instanceof Error) {
    return {
      name: mapped.name,
      message: mapped.message,
      ...(mapped.stack === undefined ? {} : { stack: mapped.stack }),
    };
  }
  return { name: "NonError", message: typeof mapped };
}
