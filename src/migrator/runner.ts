/**
 * The migration runner: status and up over drizzle-kit's folder and drizzle's own bookkeeping
 * table, so `drizzle-kit migrate` keeps working on the same database (`rollback.ts` runs the
 * down files).
 *
 * What it adds to drizzle's migrator:
 * - a session advisory lock on the run's single connection (`lock.ts`), so concurrent deploys
 *   apply each migration once: the others wait, then find nothing pending;
 * - one transaction per migration (drizzle wraps the whole batch in one), so a failure keeps
 *   what was applied before it and rolls the failing migration back whole (`execute.ts`);
 * - pending migrations found by hash, not by "newer than the last timestamp", so a migration
 *   merged from an older branch is applied instead of silently skipped (`status.ts`);
 * - down files, dry runs, a lint of dangerous operations, drift detection, a history table.
 *
 * @example
 * const connection = await connectForMigrations(config.database);
 * try {
 *   const { migrations } = await migrateUp(connection, { folder: "drizzle", log: console.log });
 *   await rollback(connection, { folder: "drizzle", steps: migrations.length });
 * } finally {
 *   await connection.close();
 * }
 */
import {
  ensureTables,
  readAppliedAt,
  readAppliedRows,
  readTableSizes,
  recordUp,
  serverVersionNum,
} from "./bookkeeping.js";
import type { MigrationConnection } from "./connection.js";
import { DangerousMigrationError, MigrationDriftError, UnknownMigrationError } from "./errors.js";
import { dryRun, planSegments, runScript, type Script, type SkippedStatement } from "./execute.js";
import { type MigrationFile, readMigrationFolder } from "./files.js";
import { type LintFinding, lintMigrations } from "./lint.js";
import { type LockOptions, withMigrationLock } from "./lock.js";
import { compareMigrations, type MigrationStatus } from "./status.js";

export interface RunOptions extends LockOptions {
  /** The drizzle-kit output folder (holds `meta/_journal.json`). */
  folder: string;
  /** Progress, warnings and (in a dry run) the SQL; nothing is printed without it. */
  log?: (line: string) => void;
  /** Execute in one transaction that is rolled back; nothing changes. */
  dryRun?: boolean;
  /** Run although applied migrations no longer match the folder. */
  allowDrift?: boolean;
  /** Called under the lock just before anything changes (not in a dry run): the backup hook. */
  beforeChange?: (change: PlannedChange) => Promise<void>;
}

export interface PlannedChange {
  direction: "up" | "down";
  migrations: readonly MigrationFile[];
}

export interface UpOptions extends RunOptions {
  /** Apply pending migrations up to and including this tag only. */
  to?: string;
  /** Throw `DangerousMigrationError` when the lint finds anything (production without the flag). */
  refuseDangerous?: boolean;
}

export interface RunResult {
  /** Applied (up) or rolled back (down), in the order it happened. */
  migrations: MigrationFile[];
  /** Lint findings for the pending migrations (up only). */
  findings: LintFinding[];
  /** Statements a dry run could not execute because they can't run in a transaction. */
  skipped: SkippedStatement[];
}

export interface StatusReport extends MigrationStatus {
  /** When each applied migration (by hash) was last applied by this runner. */
  appliedAt: ReadonlyMap<string, Date>;
  /** Migrations whose down file is missing or holds no SQL. */
  missingDown: MigrationFile[];
}

/** Where the folder and the database stand; takes no lock and changes nothing. */
export async function readMigrationStatus(
  connection: MigrationConnection,
  options: Pick<RunOptions, "folder">,
): Promise<StatusReport> {
  const migrations = readMigrationFolder(options.folder);
  const status = compareMigrations(migrations, await readAppliedRows(connection));
  return {
    ...status,
    appliedAt: await readAppliedAt(connection),
    missingDown: migrations.filter((migration) => migration.down.state !== "ready"),
  };
}

/** Applies pending migrations in journal order, each in its own transaction, under the lock. */
export async function migrateUp(
  connection: MigrationConnection,
  options: UpOptions,
): Promise<RunResult> {
  const log = options.log ?? (() => undefined);
  const migrations = readMigrationFolder(options.folder);
  const target = options.to === undefined ? undefined : findTag(migrations, options.to);

  return withMigrationLock(connection, options, async (lockPid) => {
    const status = compareMigrations(migrations, await readAppliedRows(connection));
    if (status.drift && !options.allowDrift) throw new MigrationDriftError(status);
    const pending = status.pending.filter((m) => target === undefined || m.idx <= target.idx);
    if (pending.length === 0) {
      log("nothing to apply");
      return { migrations: [], findings: [], skipped: [] };
    }

    const findings = lintMigrations(pending, {
      existingTables: await readTableSizes(connection),
    });
    // A dry run changes nothing, so it may preview what production would refuse.
    if (findings.length > 0 && options.refuseDangerous && !options.dryRun) {
      throw new DangerousMigrationError(findings);
    }
    for (const f of findings) log(`warning: ${f.tag} statement ${f.statement}: ${f.message}`);
    for (const entry of status.entries) {
      if (entry.state === "pending" && entry.outOfOrder && pending.includes(entry.migration)) {
        log(
          `note: ${entry.migration.tag} is older than the newest applied migration ` +
            "(merged from another branch); drizzle-kit migrate would skip it, this runner applies it",
        );
      }
    }

    const version = await serverVersionNum(connection);
    const scripts = pending.map(
      (migration): Script => ({
        migration,
        file: migration.file,
        segments: planSegments(migration, version),
        record: (durationMs) => recordUp(connection, migration, durationMs),
      }),
    );

    if (options.dryRun) {
      const skipped = await dryRun(connection, scripts, log, () => ensureTables(connection));
      return { migrations: pending, findings, skipped };
    }

    await options.beforeChange?.({ direction: "up", migrations: pending });
    await ensureTables(connection);
    for (const script of scripts) {
      log(`applying ${script.migration.tag}`);
      const ms = await runScript(connection, script, lockPid);
      log(`applied ${script.migration.tag} (${ms} ms)`);
    }
    return { migrations: pending, findings, skipped: [] };
  });
}

export function findTag(migrations: readonly MigrationFile[], tag: string): MigrationFile {
  const found = migrations.find((migration) => migration.tag === tag);
  if (!found) throw new UnknownMigrationError(`no migration tagged ${tag} in the journal`);
  return found;
}
