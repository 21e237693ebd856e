/** Helpers shared by the data-layer integration tests. */
import { Writable } from "node:stream";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll } from "vitest";
import {
  type AppDatabase,
  type AppTransaction,
  createDatabase,
  type Database,
} from "../../../src/db/client.js";
import type { users as usersTable } from "../../../src/db/schema/index.js";
import { parseConfig } from "../../../src/env.js";
import { createLogger, type Logger } from "../../../src/logger.js";
import { openMigratedPglite } from "../../setup/test-database.js";

/** The server process id behind `db` (a transaction's connection, when `db` is a `tx`). */
export async function backendPid(db: AppDatabase | AppTransaction): Promise<number> {
  const [row] = await db
    .select({ pid: sql<number>`pg_backend_pid()` })
    .from(sql`(select 1) as one`);
  if (!row) throw new Error("no backend pid");
  return row.pid;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every JSON line a logger writes at `level` and above (default: everything down to debug). */
export function captureLogs(level: "debug" | "info" = "debug"): {
  lines: Record<string, unknown>[];
  raw: string[];
  logger: Logger;
} {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) {
        if (!line) continue;
        raw.push(line);
        lines.push(JSON.parse(line));
      }
      done();
    },
  });
  return { lines, raw, logger: createLogger({ logLevel: level, nodeEnv: "test" }, stream) };
}

/**
 * A database on the file's test server (`url` from `useTestDatabase`) with extra settings and
 * its own pool, e.g. a logger or a tiny pool. Closed after the file.
 */
export function useDatabaseOn(
  url: () => string | undefined,
  env: Record<string, string> = {},
  logger?: Logger,
) {
  let database: Database | undefined;
  beforeAll(async () => {
    const target = url();
    if (!target) return;
    database = await createDatabase(
      parseConfig({ DATABASE_URL: target, NODE_ENV: "test", ...env }).database,
      { logger },
    );
  });
  afterAll(async () => {
    await database?.close();
  });
  return () => {
    if (!database) throw new Error("useDatabaseOn: no server database");
    return database;
  };
}

/**
 * An embedded PGlite database (migrated, in memory) for the file, whatever the suite runs on:
 * the PGlite code paths are tested even when a real server is available.
 */
export function usePglite(env: Record<string, string> = {}, logger?: Logger) {
  let database: Database | undefined;
  beforeAll(async () => {
    database = await openMigratedPglite(
      parseConfig({ PGLITE_DATA_DIR: "memory://", NODE_ENV: "test", ...env }).database,
      { logger },
    );
  });
  afterAll(async () => {
    await database?.close();
  });
  return () => {
    if (!database) throw new Error("usePglite: used outside a test");
    return database;
  };
}

/** Resolves for everyone once `parties` callers are waiting: makes two transactions interleave. */
export function barrier(parties: number) {
  let waiting = 0;
  let release: () => void = () => undefined;
  const all = new Promise<void>((resolve) => {
    release = resolve;
  });
  return () => {
    waiting++;
    if (waiting === parties) release();
    return all;
  };
}

let sequence = 0;
/** Distinct user rows; `tag` keeps emails unique across tests sharing a database. */
export function userRows(count: number, tag: string): (typeof usersTable.$inferInsert)[] {
  const run = `${tag}-${Date.now().toString(36)}-${sequence++}`;
  return Array.from({ length: count }, (_, i) => ({
    email: `${run}-${i}@example.com`,
    name: `User ${i}`,
  }));
}

/** Rejects when `promise` takes longer than `ms` (so a hang fails the test with a reason). */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
