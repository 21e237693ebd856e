/**
 * `db:inspect`: connections, lock waits, long transactions, cache hit ratios and top statements
 * of the server in DATABASE_URL (see docs/observability.md, "Debugging with db:inspect").
 *
 *   npm run db:inspect -- <connections|locks|long|cache|top> [--json] [--min-seconds N] [--limit N]
 *
 * Exit codes:
 *   0  the report was printed (an empty one included)
 *   1  failed: the connection or a query
 *   2  usage: unknown command or option, bad value; or the command can't run here: no
 *      DATABASE_URL (the embedded PGlite has no other sessions to look at), or `top` without a
 *      readable pg_stat_statements. Either way the invocation needs changing, not retrying.
 */
import { loadConfig, redactUrl } from "../env.js";
import {
  connectForInspection,
  inspect,
  parseInspectArgs,
  StatementsUnavailableError,
  USAGE,
  UsageError,
} from "../inspect/index.js";

const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

async function main(args: readonly string[]): Promise<number> {
  const options = parseInspectArgs(args);
  if (options === "help") {
    console.log(USAGE);
    return EXIT.ok;
  }
  const config = loadConfig();
  const { url } = config.database;
  if (config.database.driver !== "postgres" || !url) {
    throw new UsageError(
      "needs a real PostgreSQL server: set DATABASE_URL (the embedded PGlite database is one " +
        "in-process session, with no other sessions, locks or pg_stat_statements to inspect)",
    );
  }
  const sql = connectForInspection(config.database);
  try {
    const { report, text } = await inspect(sql, options);
    if (options.json) {
      console.log(
        JSON.stringify({ command: options.command, server: redactUrl(url), ...report }, null, 2),
      );
    } else {
      console.log(`${options.command} on ${redactUrl(url)}\n\n${text}`);
    }
    return EXIT.ok;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || error instanceof StatementsUnavailableError) {
    console.error(`db:inspect: ${error.message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  // One line, never a stack: driver messages name the host and user, not the password.
  const message = error instanceof Error ? error.message : String(error);
  console.error(`db:inspect: ${message.split("\n")[0]}`);
  return EXIT.failed;
});
