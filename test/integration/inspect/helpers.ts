/**
 * Helpers for the `db:inspect` tests: a scratch database per test, sessions that hold locks or
 * sit idle in a transaction, and the CLI as a child process. Everything a test opens is closed
 * after it, sessions before databases.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterEach, inject } from "vitest";
import { withDatabase } from "../../setup/global-setup.js";

export type { CliResult } from "../../setup/run-cli.js";

import { runEntry } from "../../setup/run-cli.js";
import { withAdmin } from "../../setup/test-database.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs after the current test, in reverse order of registration. */
export const onCleanup = (cleanup: () => Promise<unknown>) => cleanups.push(cleanup);

/** A short random suffix, so names of this test don't collide with a parallel file's. */
export const unique = () => randomBytes(4).toString("hex");

/**
 * A new empty database, dropped after the test. Named `test_…_<runId>_…` so the global teardown
 * drops it too if the run is killed.
 */
export async function createScratchDatabase(): Promise<{ name: string; url: string }> {
  const { adminUrl, runId } = inject("testDatabase");
  if (!adminUrl) throw new Error("createScratchDatabase needs a real server");
  const name = `test_insp_${runId}_${unique()}`;
  await withAdmin(adminUrl, (sql) => sql.unsafe(`create database "${name}"`));
  onCleanup(() =>
    withAdmin(adminUrl, (sql) => sql.unsafe(`drop database if exists "${name}" with (force)`)),
  );
  return { name, url: withDatabase(adminUrl, name) };
}

export interface Session {
  sql: postgres.Sql;
  pid: number;
}

/** One connection with its own application_name; `begin` on it is safe (max 1). */
export async function openSession(url: string, applicationName: string): Promise<Session> {
  const sql = postgres(url, {
    max: 1,
    onnotice: () => undefined,
    connection: { application_name: applicationName },
  });
  onCleanup(() => sql.end({ timeout: 1 }));
  const [row] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
  if (!row) throw new Error("no backend pid");
  return { sql, pid: row.pid };
}

/** Polls `check` until it returns true (every 25 ms, up to `timeoutMs`). */
export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** `src/cli/inspect.ts` in a child process (through tsx), with only the environment given. */
export const runInspect = (args: readonly string[], env: Record<string, string>) =>
  runEntry("src/cli/inspect.ts", args, env);
