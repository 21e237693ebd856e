/**
 * The migration runner's public surface: drizzle-kit's folder and table, plus locking, down
 * files, dry runs, a lint, drift detection and round-trip checks. See docs/migrations.md.
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
export {
  connectForMigrations,
  type MigrationConnection,
  pgliteMigrationConnection,
} from "./connection.js";
export {
  DangerousMigrationError,
  MigrationDriftError,
  MigrationError,
  MigrationLockTimeoutError,
  MigrationPlanError,
  UnknownMigrationError,
} from "./errors.js";
export {
  type DownFile,
  downFileTemplate,
  type MigrationFile,
  readJournalTags,
  readMigrationFolder,
  scaffoldDownFiles,
} from "./files.js";
export { type LintFinding, type LintOptions, type LintRule, lintMigrations } from "./lint.js";
export {
  diffSnapshots,
  type RoundTripReport,
  snapshotData,
  snapshotSchema,
  verifyRoundTrips,
} from "./round-trip.js";
export {
  HISTORY_TABLE,
  MIGRATION_LOCK_KEY,
  MIGRATIONS_TABLE,
  migrateUp,
  type PlannedChange,
  type RollbackOptions,
  type RunResult,
  readMigrationStatus,
  rollback,
  type StatusReport,
  type UpOptions,
} from "./runner.js";
export { type AppliedRow, compareMigrations, type MigrationEntry } from "./status.js";
