/** The `db:audit` command line. Pure, so bad input is tested without a process. */
import { parseArgs } from "node:util";
import { parseArgsMessage, UsageError } from "../inspect/args.js";

export const AUDIT_USAGE = `usage: npm run db:audit -- --verify [--json]
checks the audit log of the database in DATABASE_URL (or the embedded one): the hash chain
(edited, deleted or inserted entries), the audit triggers (missing or disabled), and account
balances against their last audited value; prints the chain's head to record elsewhere
options:
  --verify     run the checks (required)
  --json       machine-readable output
  -h, --help   this text
exit codes: 0 intact, 1 tampering or a disabled trigger found, 2 usage, 3 could not check`;

export { UsageError };

export interface AuditOptions {
  json: boolean;
}

/** Returns `"help"` for -h/--help; throws `UsageError` for anything else it can't use. */
export function parseAuditArgs(args: readonly string[]): AuditOptions | "help" {
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
  if (!values.verify) throw new UsageError("nothing to do: pass --verify");
  return { json: values.json ?? false };
}

const parse = (args: readonly string[]) =>
  parseArgs({
    args: [...args],
    options: {
      verify: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
