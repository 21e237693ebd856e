/**
 * Picks the database the suite runs on, once per run:
 *   1. TEST_DATABASE_URL (any PostgreSQL you point it at; CI uses the local server),
 *   2. else a PostgreSQL container via testcontainers, when a Docker engine answers,
 *   3. else embedded PGlite: tests that need a real server are skipped, saying why.
 *      With CI=true this fallback is an error instead: CI must never silently skip.
 * For a real server it migrates a template database once; every test file then clones its
 * own database from it (`CREATE DATABASE ... TEMPLATE`, see test-database.ts), dropped at the end.
 * Either way it makes sure the PGlite snapshots exist (src/db/pglite-snapshot.ts): an embedded
 * test database loads one instead of running initdb and the migrations (seconds each).
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { initdbSnapshot } from "../../src/db/pglite-snapshot.js";
import { parseConfig, redactUrl, testEnv } from "../../src/env.js";
import { migrateDatabaseUrl, migratedPgliteSnapshot } from "../../src/migrator/migrate.js";
import type { TestDatabaseInfo } from "./test-database.js";

declare module "vitest" {
  export interface ProvidedContext {
    testDatabase: TestDatabaseInfo;
  }
}

export default async function globalSetup(project: TestProject) {
  const env = testEnv();
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  let adminUrl = env.testDatabaseUrl;
  let source: TestDatabaseInfo["source"] = "TEST_DATABASE_URL";
  let stopContainer: (() => Promise<unknown>) | undefined;

  if (!adminUrl) {
    const container = await startContainer();
    if (container) {
      adminUrl = container.getConnectionUri();
      source = "testcontainers";
      stopContainer = () => container.stop();
    }
  }

  if (!adminUrl) {
    const reason =
      "TEST_DATABASE_URL is unset and no Docker engine is reachable for testcontainers";
    if (env.ci) throw new Error(`CI=true: refusing to fall back to embedded PGlite (${reason})`);
    console.warn(
      `\n[test database] embedded PGlite (${reason}); tests that need a real server are skipped\n`,
    );
    project.provide("testDatabase", {
      source: "pglite",
      adminUrl: undefined,
      template: undefined,
      runId,
      pgliteSnapshots: await pgliteSnapshots(),
    });
    return;
  }

  const template = `test_tpl_${runId}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  let snapshots: Promise<TestDatabaseInfo["pgliteSnapshots"]>;
  try {
    await admin.unsafe(`create database "${template}"`);
    // Built while the template migrates: files also test the embedded database (usePglite).
    snapshots = pgliteSnapshots();
    await migrateDatabaseUrl(
      parseConfig({ DATABASE_URL: withDatabase(adminUrl, template) }).database,
    );
  } finally {
    await admin.end();
  }
  console.info(`\n[test database] ${source}: ${redactUrl(adminUrl)} (template ${template})\n`);
  project.provide("testDatabase", {
    source,
    adminUrl,
    template,
    runId,
    pgliteSnapshots: await snapshots,
  });

  return async () => {
    const cleanup = postgres(adminUrl, { max: 1, onnotice: () => undefined });
    try {
      const leftovers = await cleanup<{ datname: string }[]>`
        select datname from pg_database where datname like ${`test_%${runId}%`}`;
      for (const { datname } of leftovers) {
        await cleanup.unsafe(`drop database if exists "${datname}" with (force)`);
      }
    } finally {
      await cleanup.end();
      await stopContainer?.();
    }
  };
}

/** The snapshots' files; without them (a read-only node_modules, say) files run initdb themselves. */
async function pgliteSnapshots(): Promise<TestDatabaseInfo["pgliteSnapshots"]> {
  try {
    return { initdb: await initdbSnapshot(), migrated: await migratedPgliteSnapshot() };
  } catch (error) {
    console.warn(
      `[test database] no PGlite snapshots, each file builds its own database: ${error}`,
    );
    return undefined;
  }
}

async function startContainer() {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
  } catch {
    return undefined; // no Docker engine
  }
  const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
  return new PostgreSqlContainer("postgres:17-alpine").start();
}

/** The same server URL, pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
