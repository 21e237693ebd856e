/**
 * Applies the committed migrations in `drizzle/` with Drizzle's migrator, on a dedicated
 * single connection (never the app's pool), and closes it.
 */
import { fileURLToPath } from "node:url";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import type { DatabaseConfig } from "../env.js";
import { type Database, postgresOptions } from "./client.js";

/** `drizzle/` at the project root, wherever this file is run from (src/ or dist/src/). */
export const MIGRATIONS_FOLDER = fileURLToPath(
  new URL(
    import.meta.url.includes("/dist/") ? "../../../drizzle" : "../../drizzle",
    import.meta.url,
  ),
);

export async function migrateDatabaseUrl(config: DatabaseConfig): Promise<void> {
  if (!config.url) throw new Error("a postgres URL is required");
  const sql = postgres(config.url, {
    ...postgresOptions(config),
    max: 1,
    // DDL on a big table may legitimately run long; the app's statement timeout doesn't apply.
    connection: { application_name: `${config.applicationName}:migrate` },
    onnotice: () => undefined,
  });
  try {
    await migratePostgres(drizzlePostgres(sql), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** For an open database: PGlite has one connection, so it migrates in place. */
export async function migrateDatabase(database: Database): Promise<void> {
  if (database.pglite) {
    await migratePglite(drizzlePglite(database.pglite), { migrationsFolder: MIGRATIONS_FOLDER });
    return;
  }
  await migrateDatabaseUrl(database.config);
}
