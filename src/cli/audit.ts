/**
 * `db:audit`: verifies the audit log (docs/security.md, "Audit log").
 *
 *   npm run db:audit -- --verify [--json]
 *
 * Exit codes:
 *   0  the chain is intact, every audit trigger enabled, balances match their audit entries
 *   1  something was found: the first broken link is printed first
 *   2  usage
 *   3  could not check: the connection or a query failed (e.g. migrations not applied)
 */
import { AUDIT_USAGE, parseAuditArgs, UsageError } from "../audit/args.js";
import { verifyAuditLog } from "../audit/verify.js";
import { createDatabase } from "../db/client.js";
import { loadConfig, redactUrl } from "../env.js";

const EXIT = { ok: 0, failed: 1, usage: 2, error: 3 } as const;

async function main(args: readonly string[]): Promise<number> {
  const options = parseAuditArgs(args);
  if (options === "help") {
    console.log(AUDIT_USAGE);
    return EXIT.ok;
  }
  const config = loadConfig();
  const where = config.database.url ? redactUrl(config.database.url) : "the embedded database";
  // On the primary: statements on a replica could each see another replay position.
  const database = await createDatabase({ ...config.database, replicas: [] });
  try {
    const report = await verifyAuditLog(database.db);
    if (options.json) console.log(JSON.stringify(report, null, 2));
    else {
      for (const problem of report.problems) console.log(`FAIL ${problem.message}`);
      console.log(
        `${report.ok ? "ok" : "TAMPERED"}: ${report.entries} audit entries in ${where}; ` +
          `head seq ${report.head.seq} hash ${report.head.hash}`,
      );
    }
    return report.ok ? EXIT.ok : EXIT.failed;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // One line, never a stack: driver messages name the host and user, not the password.
    console.error(`db:audit: could not check ${where}: ${message.split("\n")[0]}`);
    return EXIT.error;
  } finally {
    await database.close();
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`db:audit: ${error.message}\n\n${AUDIT_USAGE}`);
    return EXIT.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`db:audit: ${message.split("\n")[0]}`);
  return EXIT.error;
});
