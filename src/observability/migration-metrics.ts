/**
 * Where the database stands against the committed migrations (`drizzle/`): how many are applied,
 * how many pending, and when the last one was applied. Read with the migration runner's own
 * `readMigrationStatus` at start and on `refresh()` (after a deploy step migrated, for instance),
 * not at every scrape: it reads the folder and two tables.
 *
 * @example
 * const migrations = registerMigrationMetrics(registry, {
 *   read: migrationStateReader(database, config.database),
 *   logger,
 * });
 * await migrations.refresh();
 */
import { Gauge, type Registry } from "prom-client";
import type { Database } from "../db/client.js";
import type { DatabaseConfig } from "../env.js";
import type { Logger } from "../logger.js";
import {
  connectForMigrations,
  type MigrationConnection,
  pgliteMigrationConnection,
  readMigrationStatus,
} from "../migrator/index.js";
import { MIGRATIONS_FOLDER } from "../migrator/migrate.js";
import { METRICS } from "./metric-names.js";

export interface MigrationState {
  /** Migrations recorded as applied (edited-since and unknown ones included). */
  applied: number;
  /** Migrations of the folder not applied yet. */
  pending: number;
  /** When the newest applied migration was applied by this runner; undefined if unknown. */
  lastAppliedAt: Date | undefined;
}

export type MigrationStateReader = () => Promise<MigrationState>;

/**
 * Reads the state over the migration runner's connection: PGlite's only connection, or a
 * short-lived one of its own on a server (closed right after).
 */
export function migrationStateReader(
  database: Pick<Database, "pglite">,
  config: DatabaseConfig,
  folder = MIGRATIONS_FOLDER,
): MigrationStateReader {
  return async () => {
    const { pglite } = database;
    const connection: MigrationConnection = pglite
      ? pgliteMigrationConnection(pglite)
      : await connectForMigrations(config);
    try {
      const status = await readMigrationStatus(connection, { folder });
      const applied =
        status.entries.filter((entry) => entry.state !== "pending").length +
        status.missingFiles.length;
      const times = [...status.appliedAt.values()].map((date) => date.getTime());
      return {
        applied,
        pending: status.pending.length,
        lastAppliedAt: times.length > 0 ? new Date(Math.max(...times)) : undefined,
      };
    } finally {
      await connection.close();
    }
  };
}

/** Registers the `db_migration*` gauges; `refresh()` reads the state again (never throws). */
export function registerMigrationMetrics(
  registry: Registry,
  { read, logger }: { read: MigrationStateReader; logger: Logger },
): { refresh(): Promise<void> } {
  const registers = [registry];
  const applied = new Gauge({
    name: METRICS.migrationsApplied,
    help: "Migrations applied to the database",
    registers,
  });
  const pending = new Gauge({
    name: METRICS.migrationsPending,
    help: "Committed migrations not applied yet",
    registers,
  });
  const lastApplied = new Gauge({
    name: METRICS.migrationLastAppliedSeconds,
    help: "When the newest migration was applied (Unix time; 0 when unknown)",
    registers,
  });
  return {
    async refresh() {
      try {
        const state = await read();
        applied.set(state.applied);
        pending.set(state.pending);
        lastApplied.set(state.lastAppliedAt ? state.lastAppliedAt.getTime() / 1000 : 0);
      } catch (error) {
        // The gauges keep their last values; the app runs whatever its migration state.
        logger.warn({ err: error }, "migration state unavailable for metrics");
      }
    },
  };
}
