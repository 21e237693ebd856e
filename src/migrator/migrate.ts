/**
 * Applies the committed migrations in `drizzle/` with the template's runner (src/migrator),
 * for callers that just want "bring this database up to date": the server on the embedded
 * database, the test suite's template database. Deploys use the CLI (`npm run db:migrate`),
 * which adds backups, the production lint and dry runs.
 *
 * @example
 * await migrateDatabaseUrl(config.database); // own single connection, closed afterwards
 */
import { fileURLToPath } from "node:url";
import type { Database } from "../db/client.js";
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
