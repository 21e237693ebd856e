/**
 * The migration runner's public surface: drizzle-kit's folder and table, plus locking, down
 * files (generated from drizzle-kit's snapshots), dry runs, a lint, drift detection and
 * round-trip checks. See docs/migrations.md.
 *
 * @example
 * const connection = await connectForMigrations(config.database);
 * try {
 *   const status = await readMigrationStatus(connection, { folder: "drizzle" });
 *   if (status.pending.length > 0) await migrateUp(connection, { folder: "drizzle" });
 * } finally {
 *   await connection.close();
 * }
 */
export { backupDatabase, pgDumpAvailable } from "./backup.js";
export { HISTORY_TABLE, MIGRATIONS_TABLE } from "./bookkeeping.js";
export {
  connectForMigrations,
  type MigrationConnection,
  pgliteMigrationConnection,
} from "./connection.js";
export {
  type DownOptions,
  type GeneratedDown,
  generateDownMigration,
  writeDownMigration,
} from "./down-generator.js";
export {
  type DownNote,
  type DownReview,
  type RestoredColumn,
  readRestoredLast,
  reviewDownStatements,
} from "./down-review.js";
export {
  DangerousMigrationError,
  MigrationDriftError,
  MigrationError,
  MigrationLockTimeoutError,
  MigrationPlanError,
  UnknownMigrationError,
} from "./errors.js";
export type { SkippedStatement } from "./execute.js";
export {
  type DownFile,
  downFileTemplate,
  type MigrationFile,
  readJournalTags,
  readMigrationFolder,
} from "./files.js";
export { type LintFinding, type LintOptions, type LintRule, lintMigrations } from "./lint.js";
export { MIGRATION_LOCK_KEY } from "./lock.js";
export { type RollbackOptions, rollback } from "./rollback.js";
export {
  diffSnapshots,
  type RoundTripReport,
  snapshotData,
  snapshotSchema,
  verifyRoundTrips,
} from "./round-trip.js";
export {
  migrateUp,
  type PlannedChange,
  type RunOptions,
  type RunResult,
  readMigrationStatus,
  type StatusReport,
  type UpOptions,
} from "./runner.js";
export { type AppliedRow, compareMigrations, type MigrationEntry } from "./status.js";
