/**
 * `db:doctor`: a health report of the database in DATABASE_URL and of this configuration
 * (docs/performance.md, "Database doctor").
 *
 *   npm run db:doctor -- [--json] [--instances N] [--long-seconds N]
 *
 * Exit codes:
 *   0  no check failed (warnings allowed)
 *   1  at least one check failed
 *   2  usage: unknown option, bad value, or no DATABASE_URL (the embedded PGlite has no
 *      statistics, sessions or connection limits to check)
 *   3  could not check: the connection or a query failed
 */

import {
  countVerdicts,
  DOCTOR_USAGE,
  parseDoctorArgs,
  renderReport,
  reportJson,
  runDoctor,
  UsageError,
} from "../doctor/index.js";
import { ConfigError, doctorEnv, loadConfig, parseConfig, redactUrl } from "../env.js";
import { connectForInspection } from "../inspect/index.js";

const EXIT = { ok: 0, failed: 1, usage: 2, error: 3 } as const;

async function main(args: readonly string[]): Promise<number> {
  const options = parseDoctorArgs(args, doctorEnv().instances);
  if (options === "help") {
    console.log(DOCTOR_USAGE);
    return EXIT.ok;
  }
  // Bad configuration is bad input like a bad option: one line, the usage, exit 2.
  const config = loadConfig(undefined, (source) => {
    try {
      return parseConfig(source);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const problems = error.problems.map((p) => `${p.variable}: ${p.message}`).join("; ");
      throw new UsageError(`invalid configuration: ${problems}`);
    }
  });
  if (config.database.driver !== "postgres" || !config.database.url) {
    throw new UsageError(
      "needs a real PostgreSQL server: set DATABASE_URL (the embedded PGlite database keeps " +
        "no statistics, sessions or connection limits to check)",
    );
  }
  const sql = connectForInspection(config.database, "doctor");
  try {
    const report = await runDoctor(sql, config, options);
    console.log(options.json ? JSON.stringify(reportJson(report), null, 2) : renderReport(report));
    return countVerdicts(report.findings).fail > 0 ? EXIT.failed : EXIT.ok;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // One line, never a stack: driver messages name the host and user, not the password.
    console.error(
      `db:doctor: could not check ${redactUrl(config.database.url)}: ${message.split("\n")[0]}`,
    );
    return EXIT.error;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`db:doctor: ${error.message}\n\n${DOCTOR_USAGE}`);
    return EXIT.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`db:doctor: ${message.split("\n")[0]}`);
  return EXIT.error;
});
