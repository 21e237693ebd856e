/**
 * Per-file databases. On a real server each call clones the migrated template
 * (`CREATE DATABASE ... TEMPLATE`, tens of milliseconds) so files run in parallel without
 * sharing rows; on PGlite each call is a fresh in-memory database loaded from the run's
 * migrated snapshot (global-setup.ts), which is the same database as initdb plus the
 * migrations, in a fraction of the time.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, inject } from "vitest";
import { type CreateDatabaseOptions, createDatabase, type Database } from "../../src/db/client.js";
import { loadSnapshot } from "../../src/db/pglite-snapshot.js";
import { type DatabaseConfig, parseConfig } from "../../src/env.js";
import { migrateDatabase } from "../../src/migrator/migrate.js";
import { withDatabase } from "./global-setup.js";

export interface TestDatabaseInfo {
  source: "TEST_DATABASE_URL" | "testcontainers" | "pglite";
  adminUrl: string | undefined;
  template: string | undefined;
  runId: string;
  /**
   * PGlite snapshot files (src/db/pglite-snapshot.ts), whatever the suite runs on: a database
   * fresh from initdb, and one with the migrations applied. Undefined if they couldn't be made.
   */
  pgliteSnapshots: { initdb: string; migrated: string } | undefined;
}

export interface TestDatabase {
  database: Database;
  /** Connection URL of this file's database (undefined on PGlite). */
  url: string | undefined;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

const info = () => inject("testDatabase");

/** True when the suite runs on a real PostgreSQL server (not the PGlite fallback). */
export const onRealServer = () => info().source !== "pglite";
export const NEEDS_SERVER =
  "needs a real PostgreSQL server (set TEST_DATABASE_URL or run a Docker engine)";

/**
 * A new, migrated, empty database. `env` adds configuration variables (e.g. a small pool).
 */
export async function createTestDatabase(env: Record<string, string> = {}): Promise<TestDatabase> {
  const { adminUrl, template, runId } = info();
  if (!adminUrl || !template) {
    const config = parseConfig({ PGLITE_DATA_DIR: "memory://", NODE_ENV: "test", ...env });
    const database = await openMigratedPglite(config.database);
    return { database, url: undefined, drop: () => database.close() };
  }
  const name = `test_db_${runId}_${randomBytes(4).toString("hex")}`;
  await withAdmin(adminUrl, (sql) =>
    sql.unsafe(`create database "${name}" template "${template}"`),
  );
  const url = withDatabase(adminUrl, name);
  const config = parseConfig({ DATABASE_URL: url, NODE_ENV: "test", ...env });
  const database = await createDatabase(config.database);
  return {
    database,
    url,
    drop: async () => {
      await database.close();
      await withAdmin(adminUrl, (sql) =>
        sql.unsafe(`drop database if exists "${name}" with (force)`),
      );
    },
  };
}

/**
 * A migrated embedded database for `config`, a new PGlite one (`memory://` or an empty folder):
 * loaded from the run's migrated snapshot, or, without one, created and migrated here.
 *
 * @example
 * const config = parseConfig({ PGLITE_DATA_DIR: "memory://", DATABASE_LOG_QUERIES: "true" });
 * const database = await openMigratedPglite(config.database, { logger });
 */
export async function openMigratedPglite(
  config: DatabaseConfig,
  options: CreateDatabaseOptions = {},
): Promise<Database> {
  const file = info().pgliteSnapshots?.migrated;
  const snapshot = file ? loadSnapshot(file) : undefined;
  if (file && !snapshot) throw new Error(`the run's PGlite snapshot ${file} is gone`);
  const database = await createDatabase(config, { ...options, pgliteSnapshot: snapshot });
  if (!snapshot) await migrateDatabase(database);
  return database;
}

/** `createTestDatabase` for the current file: created before its tests, dropped after. */
export function useTestDatabase(env: Record<string, string> = {}) {
  let current: TestDatabase | undefined;
  beforeAll(async () => {
    current = await createTestDatabase(env);
  });
  afterAll(async () => {
    await current?.drop();
  });
  const get = () => {
    if (!current) throw new Error("useTestDatabase: used outside a test");
    return current;
  };
  return {
    get database() {
      return get().database;
    },
    get db() {
      return get().database.db;
    },
    get url() {
      return get().url;
    },
  };
}

/** Runs `work` on a one-connection client of the admin URL, then closes it. */
export async function withAdmin<T>(
  url: string,
  work: (sql: postgres.Sql) => Promise<T>,
): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    return await work(sql);
  } finally {
    await sql.end();
  }
}
