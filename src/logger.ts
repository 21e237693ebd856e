import { AsyncLocalStorage } from "node:async_hooks";
import pino, { type Logger } from "pino";
import { DatabaseError, mapDatabaseError } from "./db/errors.js";
import type { Config } from "./env.js";

export type { Logger } from "pino";

/**
 * Fields every log line written while handling one request carries (its `requestId`), from the
 * access log down to the query log inside `src/db/` — which knows nothing about HTTP.
 */
const logContext = new AsyncLocalStorage<Record<string, unknown>>();

/**
 * Runs `work` with `fields` added to every log line it writes.
 *
 * @example
 * await withLogContext({ requestId }, () => next());
 */
export function withLogContext<T>(fields: Record<string, unknown>, work: () => T): T {
  return logContext.run(fields, work);
}

/**
 * Errors are logged through this serializer: database errors — typed, or still raw from Drizzle
 * or a driver — log the typed error's safe `toJSON()` (pino's default would print the raw
 * message and walk `cause`, and a Drizzle message carries the bound parameters).
 */
function serializeError(error: unknown) {
  const mapped = mapDatabaseError(error);
  if (mapped instanceof DatabaseError) return mapped.toJSON();
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack };
  }
  return { message: String(error) };
}

/**
 * JSON lines in production and test; readable lines in development when pino-pretty (a dev
 * dependency) is installed. Credentials are redacted wherever they appear under these keys.
 */
export function createLogger(
  config: Pick<Config, "logLevel" | "nodeEnv">,
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: () => logContext.getStore() ?? {},
    serializers: { err: serializeError, error: serializeError },
    hooks: {
      // `logger.error(error)` makes pino use the error's own message as the line's `msg`, and a
      // raw Drizzle error's message holds the bound parameters. Route it through `err` instead.
      logMethod(args, method) {
        const [first, ...rest] = args as unknown[];
        if (first instanceof Error) {
          const msg = typeof rest[0] === "string" ? rest[0] : "error";
          return method.call(this, { err: first }, msg);
        }
        return method.apply(this, args);
      },
    },
    redact: {
      paths: [
        "password",
        "*.password",
        "databaseUrl",
        "*.databaseUrl",
        "req.headers.authorization",
      ],
      censor: "***",
    },
  };
  if (destination) return pino(options, destination);
  if (config.nodeEnv === "development" && prettyAvailable()) {
    return pino({ ...options, transport: { target: "pino-pretty", options: { colorize: true } } });
  }
  return pino(options);
}

function prettyAvailable(): boolean {
  try {
    import.meta.resolve("pino-pretty");
    return true;
  } catch {
    return false;
  }
}
