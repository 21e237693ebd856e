import { AsyncLocalStorage } from "node:async_hooks";
import pino, { type Logger } from "pino";
import { DatabaseError, mapDatabaseError } from "./db/errors.js";
import { type Config, redactUrl } from "./env.js";

export type { Logger } from "pino";

/**
 * Fields every log line written while handling one request carries (its `requestId`), down to
 * the query log inside `src/db/` — which knows nothing about HTTP. Used only when
 * `propagatesRequestContext` says so: on Node 20 it costs every promise of the process.
 */
const logContext = new AsyncLocalStorage<Record<string, unknown>>();
const NO_FIELDS: Record<string, unknown> = Object.freeze({});

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
 * Whether the request id is carried below the HTTP layer (`LOG_REQUEST_CONTEXT`, ADR 0005).
 * `auto`: yes where `AsyncLocalStorage` is cheap (Node 24+, async context frames), outside
 * production, and whenever every query is logged (`DATABASE_LOG_QUERIES` at `debug`); in
 * production on Node 20/22 the access log and the HTTP layer's lines carry it, the query log's
 * slow-query lines do not.
 */
export function propagatesRequestContext(
  config: Pick<Config, "logRequestContext" | "logLevel" | "nodeEnv"> & {
    database: Pick<Config["database"], "logQueries">;
  },
  nodeMajor = Number(process.versions.node.split(".")[0]),
): boolean {
  if (config.logRequestContext !== "auto") return config.logRequestContext === "on";
  const everyQueryLogged =
    config.database.logQueries && (config.logLevel === "debug" || config.logLevel === "trace");
  return nodeMajor >= 24 || config.nodeEnv !== "production" || everyQueryLogged;
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
    return {
      name: error.name,
      message: redactUrlPasswords(error.message),
      stack: error.stack && redactUrlPasswords(error.stack),
    };
  }
  return { message: redactUrlPasswords(String(error)) };
}

/**
 * Any other error may quote a connection URL (a tool wrapping a failure in its own message, a
 * `new URL()` of a mistyped address): its password is replaced wherever it appears in the text.
 */
const redactUrlPasswords = (text: string) =>
  text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)[^\s/]*@/gi, "$1***@");

/** A URL with credentials, logged under a key that may carry one, without its password. */
const redactSecretUrl = (value: unknown) =>
  typeof value === "string" && /:\/\/[^/]*@/.test(value) ? redactUrl(value) : value;

/**
 * JSON lines in production and test; readable lines in development when pino-pretty (a dev
 * dependency) is installed. Passwords are redacted under the keys the serializers name.
 * In production, lines are gathered up to 4 KiB (`BatchedDestination`) and written to stdout
 * with one synchronous write — at the latest every 250 ms, on `logger.flush()` and when the
 * process exits, crash included — instead of one write(2) per line (docs/performance.md has its
 * measured cost). Only a process killed outright (SIGKILL, OOM killer) loses what is gathered.
 * pino's asynchronous destination was measured too: its writes go through the libuv thread pool
 * and cost more CPU per request than writing synchronously.
 */
export function createLogger(
  config: Pick<Config, "logLevel" | "nodeEnv">,
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: undefined,
    // pino's default `time`: epoch milliseconds. An ISO string costs a Date and a
    // toISOString() per line; pino-pretty shows it readable.
    mixin: () => logContext.getStore() ?? NO_FIELDS,
    // pino's default merge assigns the line's fields onto the object `mixin` returned — here the
    // request's context itself, so every later line of the request would inherit them.
    mixinMergeStrategy: (line, fields) => (fields === NO_FIELDS ? line : { ...fields, ...line }),
    // Serializers rather than pino's `redact`, which walks its paths on every line: a serializer
    // runs only on a line that has its key.
    serializers: {
      err: serializeError,
      error: serializeError,
      password: () => "***",
      url: redactSecretUrl,
      databaseUrl: redactSecretUrl,
      database: redactSecretUrl,
    },
    hooks: {
      // `logger.error(error)` makes pino use the error's own message as the line's `msg`, and a
      // raw Drizzle error's message holds the bound parameters. Route it through `err` instead.
      logMethod(args, method) {
        const first: unknown = args[0];
        if (first instanceof Error) {
          const msg = typeof args[1] === "string" ? args[1] : "error";
          return method.call(this, { err: first }, msg);
        }
        return method.apply(this, args);
      },
    },
  };
  if (destination) return pino(options, destination);
  if (config.nodeEnv === "development" && prettyAvailable()) {
    return pino({
      ...options,
      transport: {
        target: "pino-pretty",
        options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" },
      },
    });
  }
  if (config.nodeEnv === "production") {
    const stdout = new BatchedDestination(pino.destination({ dest: 1, sync: true }), {
      maxChars: 4096,
      flushIntervalMs: 250,
    });
    process.once("exit", () => stdout.flushSync());
    return pino(options, stdout);
  }
  return pino(options);
}

/**
 * Gathers lines and hands them to `target` (sonic-boom, which writes synchronously and retries
 * on EAGAIN and partial writes) as one chunk: once `maxChars` are pending, every
 * `flushIntervalMs`, and on `flushSync()`. Not sonic-boom's own `minLength`: it appends each line
 * to one pending string and measures that string's byte length on every write, which flattens
 * it, so each line costs the whole batch.
 */
export class BatchedDestination implements pino.DestinationStream {
  #lines: string[] = [];
  #chars = 0;
  readonly #target: pino.DestinationStream;
  readonly #maxChars: number;

  constructor(
    target: pino.DestinationStream,
    { maxChars, flushIntervalMs }: { maxChars: number; flushIntervalMs: number },
  ) {
    this.#target = target;
    this.#maxChars = maxChars;
    setInterval(() => this.flushSync(), flushIntervalMs).unref();
  }

  write(line: string) {
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars >= this.#maxChars) this.flushSync();
  }

  flushSync() {
    if (this.#lines.length === 0) return;
    const chunk = this.#lines.join("");
    this.#lines = [];
    this.#chars = 0;
    this.#target.write(chunk);
  }

  /** pino's `logger.flush(callback)`. */
  flush(callback?: (error?: Error) => void) {
    this.flushSync();
    callback?.();
  }
}

/** The line every request writes when it completes. */
export interface AccessLine {
  requestId: string;
  method: string;
  /** The route pattern (`/users/:id`), not the raw URL, which may carry ids or tokens. */
  route: string;
  status: number;
  durationMs: number;
}

/**
 * Writes access lines: 5xx at `error` ("request failed"), the others at `info` ("request
 * completed"), through pino like every other line.
 */
export function createAccessLog(logger: Logger): (line: AccessLine) => void {
  return (line) => {
    if (line.status >= 500) logger.error(line, "request failed");
    else logger.info(line, "request completed");
  };
}

function prettyAvailable(): boolean {
  try {
    import.meta.resolve("pino-pretty");
    return true;
  } catch {
    return false;
  }
}
