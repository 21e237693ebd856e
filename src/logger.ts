import pino, { type Logger } from "pino";
import { DatabaseError, mapDatabaseError } from "./db/errors.js";
import type { Config } from "./env.js";

export type { Logger } from "pino";

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
    serializers: { err: serializeError, error: serializeError },
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
