/**
 * `db` command line: status, migrate, rollback and generate over drizzle-kit's `drizzle/`
 * folder (see docs/migrations.md). Connection settings come from the environment like the app
 * (MIGRATION_DATABASE_URL, else DATABASE_URL; unset: the embedded PGlite database under
 * PGLITE_DATA_DIR).
 *
 *   npm run db:status   -- [--json]
 *   npm run db:migrate  -- [--dry-run] [--to TAG] [--allow-drift] [--allow-dangerous] [--backup|--no-backup]
 *   npm run db:rollback -- [--steps N | --to TAG] [--dry-run] [--allow-drift] [--backup|--no-backup]
 *   npm run db:generate -- [--name NAME] [--custom] [--config FILE]
 *   npm run db:generate -- --down-only TAG [--config FILE | --folder DIR]
 *
 * Exit codes, for CI and deploy scripts:
 *   0  done, or (status) everything applied and no drift
 *   1  failed: a statement, the connection, the lock wait, a missing down file
 *   2  usage: unknown command or option, bad value, unknown tag
 *   3  status: migrations are pending (no drift)
 *   4  drift: applied migrations changed or missing from the folder (status; migrate and
 *      rollback refuse without --allow-drift)
 *   5  migrate refused: dangerous operations with NODE_ENV=production and no --allow-dangerous
 */
import { relative } from "node:path";
import { parseArgs } from "node:util";
import { type Config, loadConfig, redactUrl } from "../env.js";
import {
  DEFAULT_DRIZZLE_CONFIG,
  generateMigrationFiles,
  readMigrationsFolder,
} from "../migrator/generate.js";
import {
  backupDatabase,
  connectForMigrations,
  DangerousMigrationError,
  type GeneratedDown,
  MigrationDriftError,
  type MigrationFile,
  migrateUp,
  type PlannedChange,
  pgDumpAvailable,
  readMigrationStatus,
  rollback,
  type StatusReport,
  UnknownMigrationError,
  writeDownMigration,
} from "../migrator/index.js";
import { MIGRATIONS_FOLDER } from "../migrator/migrate.js";

const EXIT = { ok: 0, failed: 1, usage: 2, pending: 3, drift: 4, dangerous: 5 } as const;

const USAGE = `usage: db <status|migrate|rollback|generate> [options]
  --folder DIR          migrations folder (default: drizzle/)
  --json                status: machine-readable output
  --dry-run             migrate, rollback: print the SQL and run it in a transaction that is rolled back
  --to TAG              migrate: stop after TAG; rollback: undo everything applied after TAG
  --steps N             rollback: how many migrations to undo, newest first (default 1)
  --allow-drift         run although applied migrations changed or are missing from the folder
  --allow-dangerous     apply migrations the lint flags (required with NODE_ENV=production)
  --backup, --no-backup pg_dump before changing anything (default: on with NODE_ENV=production)
  --backup-dir DIR      where backups go (default: backups/)
  --lock-timeout S      seconds to wait for another run's lock (default 300)
  --name NAME           generate: the migration's name
  --custom              generate: an empty migration for hand-written SQL (its down is yours to write)
  --down-only TAG       generate: only the down file of TAG, from its drizzle-kit snapshots
  --config FILE         generate: drizzle-kit's config (default: drizzle.config.ts); its out is the folder
exit codes: 0 ok, 1 failed, 2 usage, 3 pending, 4 drift, 5 dangerous refused`;

class UsageError extends Error {}

const DATABASE_COMMANDS = ["status", "migrate", "rollback"] as const;
const isDatabaseCommand = (command: string): command is (typeof DATABASE_COMMANDS)[number] =>
  (DATABASE_COMMANDS as readonly string[]).includes(command);

type Flags = ReturnType<typeof parseFlags>["values"];

function parseFlags(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      folder: { type: "string" },
      json: { type: "boolean" },
      "dry-run": { type: "boolean" },
      to: { type: "string" },
      steps: { type: "string" },
      "allow-drift": { type: "boolean" },
      "allow-dangerous": { type: "boolean" },
      backup: { type: "boolean" },
      "no-backup": { type: "boolean" },
      "backup-dir": { type: "string" },
      "lock-timeout": { type: "string" },
      name: { type: "string" },
      custom: { type: "boolean" },
      "down-only": { type: "string" },
      config: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

async function main(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(args);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values: flags, positionals } = parsed;
  const [command, ...extra] = positionals;
  if (flags.help) {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (!command || extra.length > 0) throw new UsageError("expected exactly one command");
  if (flags.steps !== undefined && flags.to !== undefined) {
    throw new UsageError("--steps and --to can't be combined");
  }

  if (flags.backup && flags["no-backup"]) {
    throw new UsageError("--backup and --no-backup can't be combined");
  }

  if (command === "generate") return generate(flags);
  if (flags["down-only"] !== undefined || flags.config !== undefined) {
    throw new UsageError("--down-only and --config belong to generate");
  }
  if (!isDatabaseCommand(command)) throw new UsageError(`unknown command ${command}`);
  // Relative, so messages name `drizzle/0001_x.sql` rather than an absolute path.
  const folder = relative(process.cwd(), flags.folder ?? MIGRATIONS_FOLDER) || ".";
  const lockTimeoutMs = positiveInt(flags["lock-timeout"] ?? "300", "--lock-timeout") * 1000;
  const steps = positiveInt(flags.steps ?? "1", "--steps");

  const config = loadConfig();
  const beforeChange = command === "status" ? undefined : await backupHook(config, flags);
  // The owner role's login when MIGRATION_DATABASE_URL is set: the server's role can't run DDL.
  const connection = await connectForMigrations(config.migrationDatabase);
  try {
    const options = {
      folder,
      log: (line: string) => console.log(line),
      lockTimeoutMs,
      dryRun: flags["dry-run"] ?? false,
      allowDrift: flags["allow-drift"] ?? false,
      beforeChange,
    };
    switch (command) {
      case "status": {
        const report = await readMigrationStatus(connection, { folder });
        const code = report.drift ? EXIT.drift : report.pending.length > 0 ? EXIT.pending : EXIT.ok;
        if (flags.json) console.log(JSON.stringify(statusJson(report, code), null, 2));
        else printStatus(report, config, code);
        return code;
      }
      case "migrate": {
        const result = await migrateUp(connection, {
          ...options,
          ...(flags.to === undefined ? {} : { to: flags.to }),
          refuseDangerous: config.nodeEnv === "production" && !flags["allow-dangerous"],
        });
        if (!options.dryRun) console.log(`${result.migrations.length} migration(s) applied`);
        return EXIT.ok;
      }
      case "rollback": {
        const result = await rollback(connection, {
          ...options,
          ...(flags.to === undefined ? { steps } : { to: flags.to }),
        });
        if (!options.dryRun) console.log(`${result.migrations.length} migration(s) rolled back`);
        return EXIT.ok;
      }
    }
  } finally {
    await connection.close();
  }
}

/**
 * `drizzle-kit generate` plus a generated down file for each migration it added; or, with
 * `--down-only TAG`, just TAG's down file (for a migration made with `drizzle-kit generate`).
 */
async function generate(flags: Flags): Promise<number> {
  const config = flags.config ?? DEFAULT_DRIZZLE_CONFIG;
  const log = (line: string) => console.log(line);
  const tag = flags["down-only"];
  if (tag === undefined) {
    if (flags.folder !== undefined) {
      throw new UsageError("generate writes to the drizzle config's out folder: use --config");
    }
    const result = await generateMigrationFiles({
      config,
      log,
      ...(flags.name ? { name: flags.name } : {}),
      ...(flags.custom ? { custom: true } : {}),
    });
    for (const down of result.downs) printDown(down);
    return EXIT.ok;
  }
  if (flags.name !== undefined || flags.custom) {
    throw new UsageError("--down-only can't be combined with --name or --custom");
  }
  const folder = flags.folder ?? (await readMigrationsFolder(config));
  printDown(await writeDownMigration(folder, tag, { log }));
  return EXIT.ok;
}

function printDown(down: GeneratedDown): void {
  const file = relative(process.cwd(), down.file);
  if (down.statements.length === 0) {
    console.log(
      `down file scaffolded: ${file} (drizzle-kit sees no schema change: write the SQL that undoes it)`,
    );
    return;
  }
  const flagged = down.review.notes.length;
  console.log(
    `down file generated: ${file} (${down.statements.length} statement(s), ${flagged} flagged: review it)`,
  );
  for (const note of down.review.notes) {
    console.log(`  statement ${note.statement}: ${note.message}`);
  }
}

/**
 * The pre-change backup, when asked for (`--backup`) or by default in production. Asked for
 * explicitly it must happen; by default it is skipped with a warning where it can't.
 */
async function backupHook(
  config: Config,
  flags: Flags,
): Promise<((change: PlannedChange) => Promise<void>) | undefined> {
  if (flags["no-backup"] || flags["dry-run"]) return undefined;
  const explicit = flags.backup === true;
  if (!explicit && config.nodeEnv !== "production") return undefined;
  const cannot =
    config.migrationDatabase.driver === "pglite"
      ? "the embedded PGlite database can't be dumped with pg_dump"
      : (await pgDumpAvailable())
        ? undefined
        : "pg_dump is not on PATH";
  if (cannot) {
    if (explicit) throw new Error(`--backup: ${cannot}`);
    console.warn(`warning: no backup taken: ${cannot} (pass --no-backup to silence this)`);
    return undefined;
  }
  return async (change) => {
    const label = change.direction === "up" ? "before-migrate" : "before-rollback";
    const file = await backupDatabase(config.migrationDatabase, {
      dir: flags["backup-dir"] ?? "backups",
      label,
    });
    console.log(`backup written to ${file}`);
  };
}

function printStatus(report: StatusReport, config: Config, code: number): void {
  console.log(`migrations against ${redactUrl(config.migrationDatabase.url)}`);
  const width = Math.max(0, ...report.entries.map((entry) => entry.migration.tag.length));
  const line = (label: string, migration: MigrationFile, rest: string) =>
    console.log(
      `  ${label.padEnd(8)} ${migration.tag.padEnd(width)}  generated ${minutes(migration.when)}${rest}`,
    );
  for (const entry of report.entries) {
    const appliedAt = entry.state === "pending" ? undefined : report.appliedAt.get(entry.row.hash);
    const applied = appliedAt
      ? `  applied ${minutes(appliedAt.getTime())}`
      : "  applied (time unknown)";
    if (entry.state === "applied") line("applied", entry.migration, applied);
    if (entry.state === "changed") {
      line("CHANGED", entry.migration, `${applied}  drift: the file changed since it was applied`);
    }
    if (entry.state === "pending") {
      line(
        "pending",
        entry.migration,
        entry.outOfOrder
          ? "  out of order: older than an applied migration (drizzle-kit migrate would skip it; db:migrate applies it)"
          : "",
      );
    }
  }
  for (const row of report.missingFiles) {
    console.log(
      `  MISSING  row ${row.id} (hash ${row.hash.slice(0, 12)}…, generated ${minutes(row.createdAt)})` +
        "  drift: applied, but no migration in the folder has it",
    );
  }
  for (const migration of report.missingDown) {
    console.log(`  no down: ${migration.tag} (${migration.down.state}: ${migration.down.file})`);
  }
  if (report.missingDown.length > 0) {
    console.log("  (`npm run db:generate -- --down-only TAG` generates a down file)");
  }
  const pending = report.pending.length;
  console.log(
    code === EXIT.ok
      ? "up to date"
      : `${pending} pending${report.drift ? ", drift detected" : ""} (exit ${code})`,
  );
}

function statusJson(report: StatusReport, exitCode: number) {
  return {
    exitCode,
    pending: report.pending.length,
    drift: report.drift,
    migrations: report.entries.map((entry) => ({
      tag: entry.migration.tag,
      state: entry.state,
      generatedAt: new Date(entry.migration.when).toISOString(),
      appliedAt:
        entry.state === "pending"
          ? null
          : (report.appliedAt.get(entry.row.hash)?.toISOString() ?? null),
      outOfOrder: entry.state === "pending" && entry.outOfOrder,
      down: entry.migration.down.state,
    })),
    missingFiles: report.missingFiles,
  };
}

function minutes(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

function positiveInt(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new UsageError(`${flag} must be a positive integer`);
  }
  return number;
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  console.error(error instanceof Error ? error.message : String(error));
  if (error instanceof UnknownMigrationError) return EXIT.usage;
  if (error instanceof MigrationDriftError) return EXIT.drift;
  if (error instanceof DangerousMigrationError) return EXIT.dangerous;
  return EXIT.failed;
});
