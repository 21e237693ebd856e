/**
 * The `db:seed` command line. Pure, so every way of getting it wrong is tested without a process;
 * shares its option messages with db:inspect (src/inspect/args.ts).
 */
import { parseArgs } from "node:util";
import { parseArgsMessage, positiveInteger, UsageError } from "../src/inspect/args.js";
import { DEFAULT_SEED, DEFAULT_TRANSFERS, DEFAULT_USERS } from "./ledger.js";

/** Users are held in memory while their transfers are drawn (a few hundred bytes each). */
const MAX_USERS = 1_000_000;
/** Transfers are streamed; the bound only keeps a typo from starting an hours-long load. */
const MAX_TRANSFERS = 50_000_000;

export const SEED_USAGE = `usage: npm run db:seed [-- --users N --transfers M [--seed S] [--batch N]]
  without options: the demo data (${DEFAULT_USERS.toLocaleString("en-US")} users with their accounts, ${DEFAULT_TRANSFERS.toLocaleString("en-US")} transfers)
options:
  --users N       users, each with one or two accounts (default ${DEFAULT_USERS}, at most ${MAX_USERS})
  --transfers M   transfers between accounts of one currency (default ${DEFAULT_TRANSFERS}, at most ${MAX_TRANSFERS})
  --seed S        seed of the generator: other ids, names and amounts (default ${DEFAULT_SEED})
  --batch N       rows per COPY (default 25000)
  -h, --help      this text
exit codes: 0 seeded (or already there), 1 failed, 2 usage or the database holds other demo data`;

export { UsageError };

export interface SeedArgs {
  users?: number;
  transfers?: number;
  seed?: number;
  batchSize?: number;
}

/** Parses the arguments after `--`; `"help"` for -h/--help; `UsageError` for anything else. */
export function parseSeedArgs(args: readonly string[]): SeedArgs | "help" {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new UsageError(parseArgsMessage(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  }
  const result: SeedArgs = {};
  if (values.users !== undefined) result.users = bounded(values.users, "--users", MAX_USERS);
  if (values.transfers !== undefined) {
    result.transfers =
      values.transfers === "0" ? 0 : bounded(values.transfers, "--transfers", MAX_TRANSFERS);
  }
  if (values.seed !== undefined) result.seed = bounded(values.seed, "--seed", 2 ** 32 - 1);
  if (values.batch !== undefined) result.batchSize = bounded(values.batch, "--batch", 1_000_000);
  return result;
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      users: { type: "string" },
      transfers: { type: "string" },
      seed: { type: "string" },
      batch: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function bounded(raw: string, flag: string, max: number): number {
  const value = positiveInteger(raw, flag);
  if (value > max) {
    throw new UsageError(`${flag} must be at most ${max.toLocaleString("en-US")}, got ${raw}`);
  }
  return value;
}
