import { describe, expect, it } from "vitest";
import {
  MigrationError,
  MigrationPlanError,
  migrateUp,
  readMigrationStatus,
  rollback,
  UnknownMigrationError,
} from "../../../src/migrator/index.js";
import {
  createEmptyDatabase,
  type FolderMigration,
  migrationRows,
  publicTables,
  writeMigrationFolder,
} from "./helpers.js";

const table = (name: string): FolderMigration => ({
  tag: `000${name.charCodeAt(0) - 97}_${name}`,
  sql: `CREATE TABLE "${name}" ("id" int);`,
  down: `DROP TABLE "${name}";`,
});

async function migratedFolder(migrations: FolderMigration[]) {
  const db = await createEmptyDatabase();
  const connection = await db.connect();
  const folder = writeMigrationFolder(migrations);
  await migrateUp(connection, { folder });
  return { connection, folder };
}

describe("rollback", () => {
  it("undoes one migration by default, newest first, and removes its row", async () => {
    const { connection, folder } = await migratedFolder([table("a"), table("b"), table("c")]);
    const result = await rollback(connection, { folder });
    expect(result.migrations.map((m) => m.tag)).toEqual(["0002_c"]);
    expect(await publicTables(connection)).toEqual(["a", "b"]);
    expect(await migrationRows(connection)).toHaveLength(2);
    const history = await connection.query<{ tag: string; direction: string }>(
      "select tag, direction from drizzle.__migration_history order by id",
    );
    expect(history.at(-1)).toEqual({ tag: "0002_c", direction: "down" });
  });

  it("undoes --steps N, newest first", async () => {
    const { connection, folder } = await migratedFolder([table("a"), table("b"), table("c")]);
    const lines: string[] = [];
    await rollback(connection, { folder, steps: 2, log: (line) => lines.push(line) });
    expect(lines.filter((l) => l.startsWith("rolling back"))).toEqual([
      "rolling back 0002_c",
      "rolling back 0001_b",
    ]);
    expect(await publicTables(connection)).toEqual(["a"]);
  });

  it("undoes everything applied after --to TAG, which stays applied", async () => {
    const { connection, folder } = await migratedFolder([table("a"), table("b"), table("c")]);
    const result = await rollback(connection, { folder, to: "0000_a" });
    expect(result.migrations.map((m) => m.tag)).toEqual(["0002_c", "0001_b"]);
    expect(await publicTables(connection)).toEqual(["a"]);
    const status = await readMigrationStatus(connection, { folder });
    expect(status.pending.map((m) => m.tag)).toEqual(["0001_b", "0002_c"]);
    await expect(rollback(connection, { folder, to: "0001_b" })).rejects.toThrow(
      UnknownMigrationError,
    );
  });

  it("refuses, before undoing anything, when a target has no down SQL", async () => {
    const { connection, folder } = await migratedFolder([
      table("a"),
      { tag: "0001_b", sql: 'CREATE TABLE "b" ("id" int);', down: "-- TODO\n" },
    ]);
    await expect(rollback(connection, { folder, steps: 2 })).rejects.toThrow(MigrationPlanError);
    expect(await publicTables(connection)).toEqual(["a", "b"]);
  });

  it("rolls a failing down back whole and keeps the migration applied", async () => {
    const { connection, folder } = await migratedFolder([
      {
        tag: "0000_a",
        sql: 'CREATE TABLE "a" ("id" int);',
        down: 'DROP TABLE "a";--> statement-breakpoint\nDROP TABLE "not_there";',
      },
    ]);
    const error = await rollback(connection, { folder }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).file).toBe(`${folder}/0000_a.down.sql`);
    expect((error as MigrationError).statement).toBe(2);
    expect(await publicTables(connection)).toEqual(["a"]);
    expect(await migrationRows(connection)).toHaveLength(1);
  });

  it("dry run runs the down in a transaction that is rolled back", async () => {
    const { connection, folder } = await migratedFolder([table("a"), table("b")]);
    const lines: string[] = [];
    const result = await rollback(connection, {
      folder,
      steps: 2,
      dryRun: true,
      log: (l) => lines.push(l),
    });
    expect(result.migrations.map((m) => m.tag)).toEqual(["0001_b", "0000_a"]);
    expect(lines).toContain('DROP TABLE "b";');
    expect(await publicTables(connection)).toEqual(["a", "b"]);
    expect(await migrationRows(connection)).toHaveLength(2);
  });

  it("does nothing on a database with nothing applied", async () => {
    const db = await createEmptyDatabase();
    const folder = writeMigrationFolder([table("a")]);
    const result = await rollback(await db.connect(), { folder });
    expect(result.migrations).toEqual([]);
  });
});
