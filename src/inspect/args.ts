/**
 * The `db:inspect` command line: what to show and how. Pure, so every way of getting it wrong
 * is tested without starting a process.
 */
import { parseArgs } from "node:util";

export const INSPECT_COMMANDS = ["connections", "locks", "long", "cache", "top"] as const;
export type InspectCommand = (typeof INSPECT_COMMANDS)[number];

export const USAGE = `usage: npm run db:inspect -- <command> [options]
commands:
  connections   sessions on the server grouped by database, application_name and state
  locks         lock waits in this database as a tree: who waits, on whom, for how long
  long          queries and transactions open longer than --min-seconds (idle in transaction too)
  cache         cache hit ratios and sizes of tables and indexes
  top           statements by total execution time (needs the pg_stat_statements extension)
options:
  --json             machine-readable output
  --min-seconds N    long: threshold in seconds, decimals allowed (default 5)
  --limit N          cache, top: rows to show (default 20 for cache, 10 for top)
  -h, --help         this text
exit codes: 0 ok, 1 failed (connection, query), 2 usage or not available on this server`;

/** Bad input: the CLI prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface InspectOptions {
  command: InspectCommand;
  json: boolean;
  /** `long`: sessions whose transaction (or statement) is older than this. */
  minSeconds: number;
  /** `cache`, `top`: how many rows. */
  limit: number;
}

const DEFAULT_LIMIT: Record<InspectCommand, number> = {
  connections: 0,
  locks: 0,
  long: 0,
  cache: 20,
  top: 10,
};

const isCommand = (value: string): value is InspectCommand =>
  (INSPECT_COMMANDS as readonly string[]).includes(value);

/**
 * Parses the arguments after `--`. Returns `"help"` for `-h`/`--help`; throws `UsageError`
 * with a one-line message for anything else it can't use.
 */
export function parseInspectArgs(args: readonly string[]): InspectOptions | "help" {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new UsageError(parseArgsMessage(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  const [command, ...extra] = positionals;
  if (command === undefined) throw new UsageError("missing command");
  if (!isCommand(command)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);

  if (values["min-seconds"] !== undefined && command !== "long") {
    throw new UsageError("--min-seconds applies to long only");
  }
  if (values.limit !== undefined && command !== "cache" && command !== "top") {
    throw new UsageError("--limit applies to cache and top only");
  }
  return {
    command,
    json: values.json ?? false,
    minSeconds:
      values["min-seconds"] === undefined
        ? 5
        : nonNegativeNumber(values["min-seconds"], "--min-seconds"),
    limit:
      values.limit === undefined
        ? DEFAULT_LIMIT[command]
        : positiveInteger(values.limit, "--limit"),
  };
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: "boolean" },
      "min-seconds": { type: "string" },
      limit: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/**
 * node:util's messages run to several sentences of advice; keep the first, shortened. Shared
 * by the other database tools' command lines (db:seed, db:doctor).
 */
export function parseArgsMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option ${unknown[1]}`;
  const missing = /^Option '(--[\w-]+)[^']*' argument missing/.exec(message);
  if (missing) return `${missing[1]} needs a value`;
  // `--min-seconds -1`: node:util reads the `-1` as an option, not as a (negative) value.
  const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec(message);
  if (ambiguous) return `${ambiguous[1]} needs a value that is not negative`;
  return message.split(/\.\s/)[0] ?? message;
}

export function nonNegativeNumber(raw: string, flag: string): number {
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`${flag} must be a number of seconds >= 0, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function positiveInteger(raw: string, flag: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${flag} must be a whole number >= 1, got ${JSON.stringify(raw)}`);
  }
  return value;
}
