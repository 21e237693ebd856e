import postgres from "postgres";
import { describe, expect, it } from "vitest";
import {
  MIGRATION_LOCK_KEY,
  MigrationLockTimeoutError,
  migrateUp,
} from "../../../src/migrator/index.js";
import { NEEDS_SERVER, onRealServer } from "../../setup/test-database.js";
import {
  createEmptyDatabase,
  migrationRows,
  publicTables,
  runCli,
  serverUrl,
  writeMigrationFolder,
} from "./helpers.js";

/** Holds the migration lock from another session until `release` is called. */
async function holdLock(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
  const [{ pid }] = await sql<[{ pid: number }]>`select pg_backend_pid() as pid`;
  return { pid, release: () => sql.end() };
}

const folderOf = () =>
  writeMigrationFolder([
    // Slow enough that runners started together overlap while it runs.
    { tag: "0000_slow", sql: 'CREATE TABLE "a" ("id" int);\nSELECT pg_sleep(1);' },
    { tag: "0001_b", sql: 'CREATE TABLE "b" ("id" int);' },
    { tag: "0002_c", sql: 'INSERT INTO "a" VALUES (1);' },
  ]);

describe.skipIf(!onRealServer())(`the migration lock (${NEEDS_SERVER})`, () => {
  it("makes a run wait for the lock holder, then apply", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    const folder = folderOf();
    const holder = await holdLock(serverUrl(db));
    const lines: string[] = [];
    const run = migrateUp(connection, { folder, log: (line) => lines.push(line) });

    await expect
      .poll(() => lines.join("\n"), { timeout: 5_000 })
      .toContain(`waiting for the migration lock, held by pid ${holder.pid}`);
    const spy = await db.connect();
    expect(await publicTables(spy)).toEqual([]);
    await holder.release();
    expect((await run).migrations).toHaveLength(3);
    expect(await publicTables(spy)).toEqual(["a", "b"]);
  });

  it("gives up after the lock timeout, naming the holder", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    const holder = await holdLock(serverUrl(db));
    try {
      const error = await migrateUp(connection, { folder: folderOf(), lockTimeoutMs: 300 }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MigrationLockTimeoutError);
      expect((error as Error).message).toContain(`pid ${holder.pid}`);
    } finally {
      await holder.release();
    }
    expect(await publicTables(connection)).toEqual([]);
  });

  it("lets three CLI runners started at once apply each migration exactly once", async () => {
    const db = await createEmptyDatabase();
    const folder = folderOf();
    const results = await Promise.all(
      [1, 2, 3].map(() => runCli(["migrate", "--folder", folder], db)),
    );

    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0 });
    const applied = results.map((r) => Number(/(\d+) migration\(s\) applied/.exec(r.stdout)?.[1]));
    expect(applied.toSorted()).toEqual([0, 0, 3]);

    const connection = await db.connect();
    expect(await migrationRows(connection)).toHaveLength(3);
    expect(await connection.query('select * from "a"')).toEqual([{ id: 1 }]);
    const history = await connection.query<{ count: string }>(
      "select count(*)::text as count from drizzle.__migration_history where direction = 'up'",
    );
    expect(history).toEqual([{ count: "3" }]);
  });
});
