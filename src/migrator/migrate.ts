/**
 * Applies the committed migrations in `drizzle/` with the template's runner (src/migrator),
 * for callers that just want "bring this database up to date": the server on the embedded
 * database, the test suite's template database. Deploys use the CLI (`npm run db:migrate`),
 * which adds backups, the production lint and dry runs.
 *
 * @example
 * await migrateDatabaseUrl(config.database); // own single connection, closed afterwards
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import type { Database } from "../db/client.js";
import { initdbSnapshot, loadSnapshot, saveSnapshot, snapshotFile } from "../db/pglite-snapshot.js";
import type { DatabaseConfig } from "../env.js";
import {
  connectForMigrations,
  migrateUp,
  pgliteMigrationConnection,
  type UpOptions,
} from "./index.js";

/** `drizzle/` at the project root, wherever this file is run from (src/ or dist/src/). */
export const MIGRATIONS_FOLDER = fileURLToPath(
  new URL(
    import.meta.url.includes("/dist/") ? "../../../drizzle" : "../../drizzle",
    import.meta.url,
  ),
);

type Options = Omit<UpOptions, "folder">;

/** Migrates the database of `config` over its own dedicated connection, then closes it. */
export async function migrateDatabaseUrl(
  config: DatabaseConfig,
  options: Options = {},
): Promise<void> {
  const connection = await connectForMigrations(config);
  try {
    await migrateUp(connection, { ...options, folder: MIGRATIONS_FOLDER });
  } finally {
    await connection.close();
  }
}

/** For an open database: PGlite has one connection, so it migrates in place. */
export async function migrateDatabase(database: Database, options: Options = {}): Promise<void> {
  if (database.pglite) {
    await migrateUp(pgliteMigrationConnection(database.pglite), {
      ...options,
      folder: MIGRATIONS_FOLDER,
    });
    return;
  }
  await migrateDatabaseUrl(database.config, options);
}

/**
 * The cached PGlite snapshot with every migration of `drizzle/` applied (db/pglite-snapshot.ts),
 * built on first use and rebuilt when a migration or the PGlite release changes. Returns the
 * file: `createDatabase(config, { pgliteSnapshot: loadSnapshot(file) })` then opens a migrated
 * database without running initdb or the migrations.
 */
export async function migratedPgliteSnapshot(): Promise<string> {
  const file = snapshotFile({ name: "migrated", inputs: [MIGRATIONS_FOLDER] });
  if (existsSync(file)) return file;
  const pglite = await PGlite.create("memory://", {
    loadDataDir: loadSnapshot(await initdbSnapshot()),
  });
  try {
    await migrateUp(pgliteMigrationConnection(pglite), { folder: MIGRATIONS_FOLDER });
    await saveSnapshot(pglite, file);
  } finally {
    await pglite.close();
  }
  return file;
}
