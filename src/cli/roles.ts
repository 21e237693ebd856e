/**
 * `db:roles`: least-privilege roles for the database (docs/security.md, "Database roles").
 * Run it as an administrator (a superuser, or a role with CREATEROLE that owns the app's
 * objects): `DATABASE_URL` names that login for this one command. Idempotent.
 *
 *   npm run db:roles                     # create or converge <prefix>_owner, _app, _readonly
 *   npm run db:roles -- --dry-run        # print the SQL it would run
 *   npm run db:roles -- --report [--json]  # access review: who can do what (any role may run it)
 *
 * Exit codes: 0 done, 1 failed (nothing changed), 2 usage.
 */
import { parseArgs } from "node:util";
import { loadConfig, redactUrl } from "../env.js";
import { connectForMigrations } from "../migrator/connection.js";
import { applyRoles } from "../roles/apply.js";
import { roleNames } from "../roles/names.js";
import { planScript } from "../roles/plan.js";
import { readAccessReport, renderAccessReport } from "../roles/report.js";

const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const USAGE = `usage: db:roles [--dry-run] [--report [--json]] [--prefix PREFIX]
  --prefix PREFIX   role names <PREFIX>_owner, _app, _readonly (default: DATABASE_ROLE_PREFIX, else ledger)
  --dry-run         print the statements, change nothing
  --report          access review of the database: roles, grants, default privileges, policies, superusers
  --json            with --report: machine-readable
exit codes: 0 ok, 1 failed, 2 usage`;

class UsageError extends Error {}

async function main(args: string[]): Promise<number> {
  let flags: ReturnType<typeof parse>["values"];
  try {
    const parsed = parse(args);
    if (parsed.positionals.length > 0) throw new Error("no positional arguments expected");
    flags = parsed.values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (flags.help) {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (flags.json && !flags.report) throw new UsageError("--json goes with --report");
  if (flags.report && flags["dry-run"]) throw new UsageError("--report changes nothing already");
  const config = loadConfig();
  const prefix = flags.prefix ?? config.rolePrefix;
  let names: ReturnType<typeof roleNames>;
  try {
    names = roleNames(prefix);
  } catch (error) {
    throw new UsageError(`--prefix: ${error instanceof Error ? error.message : String(error)}`);
  }
  const connection = await connectForMigrations(config.database);
  try {
    if (flags.report) {
      const report = await readAccessReport(connection);
      console.log(flags.json ? JSON.stringify(report, null, 2) : renderAccessReport(report));
      return EXIT.ok;
    }
    const dryRun = flags["dry-run"] ?? false;
    const { statements } = await applyRoles(connection, { prefix, dryRun });
    if (dryRun) {
      console.log(planScript(statements));
      return EXIT.ok;
    }
    console.log(
      `roles ${names.owner}, ${names.app}, ${names.readonly} (and ${names.actor}) in ` +
        `${redactUrl(config.database.url)}: ${statements.length} statement(s) applied`,
    );
    console.log(
      `next: set their passwords (psql: \\password ${names.owner}), then ` +
        `MIGRATION_DATABASE_URL=<${names.owner}'s URL> npm run db:migrate, and the server's ` +
        `DATABASE_URL to ${names.app}'s`,
    );
    return EXIT.ok;
  } finally {
    await connection.close();
  }
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      prefix: { type: "string" },
      "dry-run": { type: "boolean" },
      report: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`db:roles: ${error.message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  // One line: typed database errors carry codes and names, never a password.
  const message = error instanceof Error ? error.message : String(error);
  console.error(`db:roles: ${message.split("\n")[0]}`);
  return EXIT.failed;
});
