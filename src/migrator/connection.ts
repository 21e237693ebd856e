/**
 * The one connection a migration run uses, for either driver. Everything — the advisory lock,
 * each migration's BEGIN/COMMIT, the bookkeeping rows — goes over this single session, which is
 * why the lock means something: PostgreSQL releases a session lock only when that session ends
 * or unlocks.
 *
 * @example
 * const connection = await connectForMigrations(config.database);
 * try {
 *   await migrateUp(connection, { folder: "drizzle" });
 * } finally {
 *   await connection.close();
 * }
 */
import type { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { createDatabase, postgresOptions } from "../db/client.js";
import { refuseBehindTransactionPooler } from "../db/pooler.js";
import type { DatabaseConfig } from "../env.js";

export type Row = Record<string, unknown>;

export interface MigrationConnection {
  readonly driver: "postgres" | "pglite";
  /** One statement with `$1`-style parameters. */
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** Migration SQL as written: may hold several statements, takes no parameters. */
  execute(text: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A dedicated connection for `config`: one postgres.js connection that is never recycled
 * (a reconnect would silently drop the advisory lock and an open transaction), without the
 * app's statement timeout (DDL on a big table may legitimately run long); or, without a URL,
 * the embedded PGlite database.
 */
export async function connectForMigrations(config: DatabaseConfig): Promise<MigrationConnection> {
  if (config.driver === "pglite") {
    const database = await createDatabase(config);
    if (!database.pglite) throw new Error("the pglite driver returned no PGlite instance");
    return pgliteConnection(database.pglite, () => database.close());
  }
  if (!config.url) throw new Error("database.url is required for the postgres driver");
  refuseBehindTransactionPooler(
    config,
    "Migrations (a session advisory lock, session settings)",
    "set MIGRATION_DATABASE_URL to PostgreSQL itself (not PgBouncer), as docs/scaling.md shows",
  );
  const sql = postgres(config.url, {
    ...postgresOptions(config),
    max: 1,
    idle_timeout: 0,
    max_lifetime: 0,
    connection: { application_name: `${config.applicationName}:migrate` },
    // "schema already exists, skipping" and friends are expected on every run.
    onnotice: () => undefined,
  });
  return {
    driver: "postgres",
    query: async <T extends Row>(text: string, params: readonly unknown[] = []) =>
      (await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[])) as unknown as T[],
    execute: async (text) => {
      // No parameters: postgres.js sends a simple query, which may hold several statements.
      await sql.unsafe(text);
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

/**
 * Migrates an open PGlite database in place (it has a single connection); `close` is a no-op,
 * the caller keeps owning the instance.
 */
export function pgliteMigrationConnection(pglite: PGlite): MigrationConnection {
  return pgliteConnection(pglite, async () => undefined);
}

function pgliteConnection(pglite: PGlite, close: () => Promise<void>): MigrationConnection {
  return {
    driver: "pglite",
    query: async <T extends Row>(text: string, params: readonly unknown[] = []) =>
      (await pglite.query<T>(text, [...params])).rows,
    execute: async (text) => {
      await pglite.exec(text);
    },
    close,
  };
}
