/**
 * Rolling back: runs down files, most recently applied first, each in its own transaction
 * under the migration lock, removing the migration's row from drizzle's table in the same
 * transaction. The order is the reverse of what happened (row ids), whatever the journal says.
 *
 * @example
 * await rollback(connection, { folder: "drizzle", to: "0000_init" }); // 0000_init stays applied
 */
import { readAppliedRows, recordDown, serverVersionNum } from "./bookkeeping.js";
import type { MigrationConnection } from "./connection.js";
import { MigrationDriftError, MigrationPlanError, UnknownMigrationError } from "./errors.js";
import { dryRun, planSegments, runScript, type Script } from "./execute.js";
import { readMigrationFolder } from "./files.js";
import { withMigrationLock } from "./lock.js";
import { findTag, type RunOptions, type RunResult } from "./runner.js";
import { compareMigrations } from "./status.js";

export interface RollbackOptions extends RunOptions {
  /** Roll back this many migrations, most recently applied first. Default 1. */
  steps?: number;
  /** Roll back every migration applied after this one (which stays applied). */
  to?: string;
}

export async function rollback(
  connection: MigrationConnection,
  options: RollbackOptions,
): Promise<RunResult> {
  const log = options.log ?? (() => undefined);
  const migrations = readMigrationFolder(options.folder);
  if (options.to !== undefined) findTag(migrations, options.to);

  return withMigrationLock(connection, options, async (lockPid) => {
    const status = compareMigrations(migrations, await readAppliedRows(connection));
    if (status.drift && !options.allowDrift) throw new MigrationDriftError(status);

    // Most recently applied first: the reverse of what happened, whatever the journal order.
    const applied = [
      ...status.entries.flatMap((e) => (e.state === "pending" ? [] : [e])),
      ...status.missingFiles.map((row) => ({ row, migration: undefined })),
    ].toSorted((a, b) => b.row.id - a.row.id);

    let targets = applied.slice(0, options.steps ?? 1);
    if (options.to !== undefined) {
      const keep = applied.find((entry) => entry.migration?.tag === options.to);
      if (!keep) {
        throw new UnknownMigrationError(`${options.to} is not applied: nothing to roll back to`);
      }
      targets = applied.filter((entry) => entry.row.id > keep.row.id);
    }
    if (targets.length === 0) {
      log("nothing to roll back");
      return { migrations: [], findings: [], skipped: [] };
    }

    const plan = targets.map(({ migration, row }) => {
      if (!migration) {
        throw new MigrationPlanError(
          `applied migration row ${row.id} has no file in ${options.folder}: it can't be rolled back`,
        );
      }
      return { migration, row };
    });
    const withoutDown = plan.filter(({ migration }) => migration.down.state !== "ready");
    if (withoutDown.length > 0) {
      throw new MigrationPlanError(
        `no down migration (missing or empty): ${withoutDown.map(({ migration }) => migration.down.file).join(", ")}`,
      );
    }

    const version = await serverVersionNum(connection);
    const scripts = plan.map(
      ({ migration, row }): Script => ({
        migration,
        file: migration.down.file,
        segments: planSegments(
          { file: migration.down.file, chunks: migration.down.chunks },
          version,
        ),
        record: (durationMs) => recordDown(connection, migration, row, durationMs),
      }),
    );
    const rolledBack = plan.map(({ migration }) => migration);

    if (options.dryRun) {
      const skipped = await dryRun(connection, scripts, log);
      return { migrations: rolledBack, findings: [], skipped };
    }

    await options.beforeChange?.({ direction: "down", migrations: rolledBack });
    for (const script of scripts) {
      log(`rolling back ${script.migration.tag}`);
      const ms = await runScript(connection, script, lockPid);
      log(`rolled back ${script.migration.tag} (${ms} ms)`);
    }
    return { migrations: rolledBack, findings: [], skipped: [] };
  });
}
