/**
 * Helpers for the migration runner's tests: an empty scratch database per test (so tests share
 * nothing), throwaway migration folders, drizzle-orm's own migrator, and the `db` CLI as a
 * child process — on a real server or on PGlite, whichever the suite runs on.
 *
 * On a real server every test gets a new database. On PGlite, where starting an instance costs
 * seconds, a test file keeps one file-backed instance and `createEmptyDatabase` empties it
 * (drops every schema, recreates `public`); tests in a file run one after another.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { afterAll, afterEach, inject } from "vitest";
import { type DatabaseConfig, parseConfig } from "../../../src/env.js";
import type { Row } from "../../../src/migrator/connection.js";
import {
  connectForMigrations,
  type MigrationConnection,
  pgliteMigrationConnection,
} from "../../../src/migrator/index.js";
import { withDatabase } from "../../setup/global-setup.js";
import { type CliResult, ROOT, runCommand } from "../../setup/run-cli.js";
import { withAdmin } from "../../setup/test-database.js";

export { type CliResult, ROOT, runCommand } from "../../setup/run-cli.js";

export interface ScratchDatabase {
  name: string;
  /** Connection URL on a real server; undefined on PGlite. */
  url: string | undefined;
  config: DatabaseConfig;
  /** A migration connection to it, closed after the test (on PGlite: the file's instance). */
  connect(): Promise<MigrationConnection>;
  /**
   * Lets another client open the database: on PGlite, whose files one instance at a time may
   * hold, this closes the test's instance (the next `connect` reopens it). No-op on a server.
   */
  release(): Promise<void>;
  /** The CLI's environment for this database (`DATABASE_URL` or `PGLITE_DATA_DIR`). */
  env: Record<string, string>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An empty database, not cloned from the migrated template. */
export async function createEmptyDatabase(): Promise<ScratchDatabase> {
  const { adminUrl, runId } = inject("testDatabase");
  return adminUrl ? createServerDatabase(adminUrl, runId) : resetPgliteDatabase();
}

/** Named `test_…_<runId>_…` so the global teardown also drops it if the run is killed. */
async function createServerDatabase(adminUrl: string, runId: string): Promise<ScratchDatabase> {
  const name = `test_mig_${runId}_${randomBytes(4).toString("hex")}`;
  await withAdmin(adminUrl, (sql) => sql.unsafe(`create database "${name}"`));
  cleanups.push(async () => {
    await withAdmin(adminUrl, (sql) =>
      sql.unsafe(`drop database if exists "${name}" with (force)`),
    );
  });
  const url = withDatabase(adminUrl, name);
  const config = parseConfig({ DATABASE_URL: url, NODE_ENV: "test" }).database;
  return {
    name,
    url,
    config,
    connect: async () => {
      const connection = await connectForMigrations(config);
      cleanups.push(() => connection.close());
      return connection;
    },
    release: async () => undefined,
    env: { DATABASE_URL: url },
  };
}

/** The test file's PGlite database: its data directory and, while open, its instance. */
const embedded: { dir?: string; instance?: PGlite } = {};
afterAll(async () => {
  await embedded.instance?.close();
  if (embedded.dir) rmSync(embedded.dir, { recursive: true, force: true });
});

async function openPglite(): Promise<PGlite> {
  embedded.dir ??= mkdtempSync(join(tmpdir(), "migrations-pglite-"));
  embedded.instance ??= await PGlite.create(embedded.dir);
  return embedded.instance;
}

async function resetPgliteDatabase(): Promise<ScratchDatabase> {
  const pglite = await openPglite();
  await pglite.exec(`
    select pg_advisory_unlock_all();
    do $$ declare s name; begin
      for s in select nspname from pg_namespace
                where nspname not in ('pg_catalog', 'information_schema') and nspname !~ '^pg_'
      loop execute format('drop schema %I cascade', s); end loop;
    end $$;
    create schema public;
  `);
  const dir = embedded.dir ?? "";
  // Each call goes to the open instance, reopening it after a `release`.
  const current = async () => pgliteMigrationConnection(await openPglite());
  const connection: MigrationConnection = {
    driver: "pglite",
    query: async <T extends Row>(text: string, params?: readonly unknown[]) =>
      (await current()).query<T>(text, params),
    execute: async (text) => (await current()).execute(text),
    close: async () => undefined,
  };
  return {
    name: "pglite",
    url: undefined,
    config: parseConfig({ PGLITE_DATA_DIR: dir, NODE_ENV: "test" }).database,
    connect: async () => connection,
    release: async () => {
      await embedded.instance?.close();
      embedded.instance = undefined;
    },
    env: { PGLITE_DATA_DIR: dir },
  };
}

/** The URL of a database on a real server, for tests that open sessions of their own. */
export function serverUrl(db: ScratchDatabase): string {
  if (!db.url) throw new Error("this test needs a real server");
  return db.url;
}

/** Applies `folder` with drizzle-orm's own migrator (what `drizzle-kit migrate` runs). */
export async function migrateWithDrizzleOrm(db: ScratchDatabase, folder: string): Promise<void> {
  if (!db.url) {
    await migratePglite(drizzlePglite(await openPglite()), { migrationsFolder: folder });
    return;
  }
  const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
  try {
    await migratePostgres(drizzlePostgres(sql), { migrationsFolder: folder });
  } finally {
    await sql.end();
  }
}

export interface FolderMigration {
  tag: string;
  /** The journal's `when`; defaults to increasing values in array order. */
  when?: number;
  sql: string;
  down?: string;
}

/** A migrations folder in the temp dir, laid out as drizzle-kit writes one; removed after. */
export function writeMigrationFolder(migrations: readonly FolderMigration[]): string {
  const folder = mkdtempSync(join(tmpdir(), "migrations-"));
  cleanups.push(async () => rmSync(folder, { recursive: true, force: true }));
  return rewriteMigrationFolder(folder, migrations);
}

/** Replaces the journal and files of `folder` (e.g. to simulate a merge or an edit). */
export function rewriteMigrationFolder(
  folder: string,
  migrations: readonly FolderMigration[],
): string {
  mkdirSync(join(folder, "meta"), { recursive: true });
  const entries = migrations.map((m, idx) => ({
    idx,
    version: "7",
    when: m.when ?? 1_700_000_000_000 + idx * 1000,
    tag: m.tag,
    breakpoints: true,
  }));
  writeFileSync(
    join(folder, "meta", "_journal.json"),
    JSON.stringify({ version: "7", dialect: "postgresql", entries }, null, 2),
  );
  for (const m of migrations) {
    writeFileSync(join(folder, `${m.tag}.sql`), m.sql);
    if (m.down !== undefined) writeFileSync(join(folder, `${m.tag}.down.sql`), m.down);
  }
  return folder;
}

/**
 * Starts `src/cli/db.ts` in a child process (through tsx) against `db`, which it first
 * releases. Returns a promise, so several can be started at once (on a real server).
 */
export async function runCli(
  args: readonly string[],
  db: ScratchDatabase,
  options: { nodeEnv?: "test" | "production"; cwd?: string } = {},
): Promise<CliResult> {
  await db.release();
  return runNode(["src/cli/db.ts", ...args], {
    cwd: options.cwd,
    env: { ...db.env, NODE_ENV: options.nodeEnv ?? "test" },
  });
}

/**
 * Runs a TypeScript entry point of the repository (a path relative to its root) through tsx,
 * in `cwd` (default: the root). Only `env` is passed: nothing is inherited from the test
 * process.
 */
export function runNode(
  args: readonly string[],
  options: { cwd?: string | undefined; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const [entry = "", ...rest] = args;
  return runCommand(process.execPath, ["--import", "tsx", join(ROOT, entry), ...rest], options);
}

/** Tables of the `public` schema, sorted. */
export async function publicTables(connection: MigrationConnection): Promise<string[]> {
  const rows = await connection.query<{ name: string }>(
    "select tablename as name from pg_tables where schemaname = 'public' order by 1",
  );
  return rows.map((row) => row.name);
}

/** Rows of drizzle's migrations table, oldest first (empty when it doesn't exist). */
export async function migrationRows(
  connection: MigrationConnection,
): Promise<{ hash: string; created_at: string }[]> {
  const [exists] = await connection.query<{ found: boolean }>(
    "select to_regclass('drizzle.__drizzle_migrations') is not null as found",
  );
  if (!exists?.found) return [];
  const rows = await connection.query<{ hash: string; created_at: unknown }>(
    "select hash, created_at from drizzle.__drizzle_migrations order by id",
  );
  return rows.map((row) => ({ hash: row.hash, created_at: String(row.created_at) }));
}
