/**
 * The `db:doctor` command line. Pure, so every way of getting it wrong is tested without a
 * process; option messages are db:inspect's (src/inspect/args.ts).
 */
import { parseArgs } from "node:util";
import {
  nonNegativeNumber,
  parseArgsMessage,
  positiveInteger,
  UsageError,
} from "../inspect/args.js";

export const DOCTOR_USAGE = `usage: npm run db:doctor -- [options]
checks the database in DATABASE_URL and this process's configuration, one verdict per line
(ok, warn, fail; skip when a check can't run on this server)
options:
  --json              machine-readable output
  --instances N       app processes sharing the server, for the connection budget
                      (default: APP_INSTANCES, else 1)
  --long-seconds N    transactions open longer than this are reported (default 60)
  -h, --help          this text
exit codes: 0 no fail, 1 at least one fail, 2 usage (or no DATABASE_URL), 3 could not check`;

export { UsageError };

export interface DoctorOptions {
  json: boolean;
  instances: number;
  /** Sessions whose transaction is older than this are reported; idle ones fail. */
  longSeconds: number;
}

/**
 * Parses the arguments after `--`; `instancesFromEnv` is `APP_INSTANCES` as set (unvalidated),
 * which `--instances` overrides. Returns `"help"` for -h/--help; throws `UsageError` otherwise.
 */
export function parseDoctorArgs(
  args: readonly string[],
  instancesFromEnv?: string,
): DoctorOptions | "help" {
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
  const instances =
    values.instances !== undefined
      ? positiveInteger(values.instances, "--instances")
      : instancesFromEnv !== undefined
        ? positiveInteger(instancesFromEnv, "APP_INSTANCES")
        : 1;
  return {
    json: values.json ?? false,
    instances,
    longSeconds:
      values["long-seconds"] === undefined
        ? 60
        : nonNegativeNumber(values["long-seconds"], "--long-seconds"),
  };
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: "boolean" },
      instances: { type: "string" },
      "long-seconds": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}
