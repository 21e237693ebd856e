/**
 * Helpers for the migration runner's tests: empty scratch databases on the test server (each
 * test makes its own, so tests share nothing), throwaway migration folders, and the `db` CLI
 * as a child process.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, inject } from "vitest";
import { type DatabaseConfig, parseConfig } from "../../../src/env.js";
import { connectForMigrations, type MigrationConnection } from "../../../src/migrator/index.js";
import { withDatabase } from "../../setup/global-setup.js";
import { withAdmin } from "../../setup/test-database.js";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface ScratchDatabase {
  name: string;
  url: string;
  config: DatabaseConfig;
  /** A migration connection to it; closed automatically after the test. */
  connect(): Promise<MigrationConnection>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A new empty database (not cloned from the migrated template), dropped after the test.
 * Named `test_…_<runId>_…` so the global teardown also drops it if the run is killed.
 */
export async function createEmptyDatabase(): Promise<ScratchDatabase> {
  const { adminUrl, runId } = inject("testDatabase");
  if (!adminUrl) throw new Error("createEmptyDatabase needs a real server");
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
  };
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

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts `src/cli/db.ts` in a child process (through tsx) against `url`. Returns a promise, so
 * several can be started at once.
 */
export function runCli(
  args: readonly string[],
  options: { url: string; nodeEnv?: "test" | "production" },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/db.ts", ...args], {
      cwd: ROOT,
      // Only what the CLI reads; nothing is inherited from the test process.
      env: { DATABASE_URL: options.url, NODE_ENV: options.nodeEnv ?? "test" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
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
