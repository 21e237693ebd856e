import { describe, expect, it } from "vitest";
import {
  MigrationDriftError,
  MigrationError,
  MigrationPlanError,
  migrateUp,
  readMigrationFolder,
  readMigrationStatus,
  snapshotSchema,
} from "../../../src/migrator/index.js";
import { MIGRATIONS_FOLDER } from "../../../src/migrator/migrate.js";
import {
  createEmptyDatabase,
  migrateWithDrizzleOrm,
  migrationRows,
  publicTables,
  rewriteMigrationFolder,
  writeMigrationFolder,
} from "./helpers.js";

describe("migrateUp", () => {
  it("applies every template migration and writes the rows drizzle-kit migrate writes", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    const result = await migrateUp(connection, { folder: MIGRATIONS_FOLDER });

    const files = readMigrationFolder(MIGRATIONS_FOLDER);
    expect(result.migrations.map((m) => m.tag)).toEqual(files.map((m) => m.tag));
    expect(await migrationRows(connection)).toEqual(
      files.map((m) => ({ hash: m.hash, created_at: String(m.when) })),
    );
    expect(await publicTables(connection)).toEqual([
      "accounts",
      "audit_chain",
      "audit_log",
      "transfers",
      "users",
    ]);

    // drizzle's own migrator (what `drizzle-kit migrate` runs) finds nothing left to do.
    await migrateWithDrizzleOrm(db, MIGRATIONS_FOLDER);
    expect(await migrationRows(connection)).toHaveLength(files.length);
    expect((await migrateUp(connection, { folder: MIGRATIONS_FOLDER })).migrations).toEqual([]);
  });

  it("reads a database migrated by drizzle-kit's migrator as up to date", async () => {
    const db = await createEmptyDatabase();
    await migrateWithDrizzleOrm(db, MIGRATIONS_FOLDER);
    const status = await readMigrationStatus(await db.connect(), { folder: MIGRATIONS_FOLDER });
    expect(status.entries.map((e) => e.state)).toEqual(status.entries.map(() => "applied"));
    expect(status.drift).toBe(false);
    expect(status.appliedAt.size).toBe(0); // applied outside this runner: no history
  });

  it("stops after --to and applies the rest later", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    const [first] = readMigrationFolder(MIGRATIONS_FOLDER);
    if (!first) throw new Error("no migrations");
    const partial = await migrateUp(connection, { folder: MIGRATIONS_FOLDER, to: first.tag });
    expect(partial.migrations.map((m) => m.tag)).toEqual([first.tag]);
    const status = await readMigrationStatus(connection, { folder: MIGRATIONS_FOLDER });
    expect(status.pending.length).toBeGreaterThan(0);
    await expect(
      migrateUp(connection, { folder: MIGRATIONS_FOLDER, to: "9999_nope" }),
    ).rejects.toThrow(/no migration tagged 9999_nope/);
  });

  it("rolls a failing migration back whole, naming the file, statement and line", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    const folder = writeMigrationFolder([
      { tag: "0000_ok", sql: 'CREATE TABLE "kept" ("id" int);' },
      {
        tag: "0001_broken",
        sql:
          'CREATE TABLE "half" ("id" int);--> statement-breakpoint\n' +
          'INSERT INTO "half" VALUES (1);--> statement-breakpoint\n' +
          "-- the typo below is deliberate\n" +
          'ALTER TABLE "half"\n  ADD COLUMN "x" no_such_type;--> statement-breakpoint\n' +
          'CREATE TABLE "never" ("id" int);',
      },
    ]);

    const error = await migrateUp(connection, { folder }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    const failure = error as MigrationError;
    expect(failure.file).toBe(`${folder}/0001_broken.sql`);
    expect(failure.statement).toBe(3);
    expect(failure.line).toBe(5); // the line of `no_such_type`, from the error's position
    expect(failure.message).toContain('ALTER TABLE "half" ADD COLUMN "x" no_such_type');
    expect(failure.message).toContain('type "no_such_type" does not exist');
    expect(failure.message).toContain("rolled back");

    // The migration before it stays applied; nothing of the broken one remains.
    expect(await publicTables(connection)).toEqual(["kept"]);
    expect(await migrationRows(connection)).toHaveLength(1);
    const status = await readMigrationStatus(connection, { folder });
    expect(status.pending.map((m) => m.tag)).toEqual(["0001_broken"]);
  });

  it("runs statements that can't be in a transaction outside one, and records the migration", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    const folder = writeMigrationFolder([
      {
        tag: "0000_concurrent",
        sql:
          'CREATE TABLE "t" ("id" int);--> statement-breakpoint\n' +
          'CREATE INDEX CONCURRENTLY "t_id_idx" ON "t" ("id");--> statement-breakpoint\n' +
          'INSERT INTO "t" VALUES (1);',
      },
    ]);
    await migrateUp(connection, { folder });
    const [index] = await connection.query<{ valid: boolean }>(
      "select indisvalid as valid from pg_index where indexrelid = 't_id_idx'::regclass",
    );
    expect(index?.valid).toBe(true);
    expect(await connection.query('select * from "t"')).toEqual([{ id: 1 }]);
    expect(await migrationRows(connection)).toHaveLength(1);
  });

  it("refuses a non-transactional statement sharing its chunk, before running anything", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    const folder = writeMigrationFolder([
      { tag: "0000_first", sql: 'CREATE TABLE "t" ("id" int);' },
      {
        tag: "0001_mixed",
        sql: 'CREATE TABLE "u" ("id" int); CREATE INDEX CONCURRENTLY "u_idx" ON "u" ("id");',
      },
    ]);
    await expect(migrateUp(connection, { folder })).rejects.toThrow(MigrationPlanError);
    expect(await publicTables(connection)).toEqual([]);
  });

  it("refuses to run over drift unless allowed", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    const folder = writeMigrationFolder([{ tag: "0000_a", sql: 'CREATE TABLE "a" ("id" int);' }]);
    await migrateUp(connection, { folder });
    rewriteMigrationFolder(folder, [
      { tag: "0000_a", sql: 'CREATE TABLE "a" ("id" bigint);' }, // edited after apply
      { tag: "0001_b", sql: 'CREATE TABLE "b" ("id" int);' },
    ]);
    await expect(migrateUp(connection, { folder })).rejects.toThrow(MigrationDriftError);
    expect(await publicTables(connection)).toEqual(["a"]);
    await migrateUp(connection, { folder, allowDrift: true });
    expect(await publicTables(connection)).toEqual(["a", "b"]);
  });

  it("dry run executes and prints the SQL, reports what it can't run, and changes nothing", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    const folder = writeMigrationFolder([
      {
        tag: "0000_a",
        sql:
          'CREATE TABLE "a" ("id" int);--> statement-breakpoint\n' +
          'CREATE INDEX CONCURRENTLY "a_idx" ON "a" ("id");',
      },
      { tag: "0001_b", sql: 'ALTER TABLE "a" ADD COLUMN "b" text;' },
    ]);
    const before = await snapshotSchema(connection, []);
    const lines: string[] = [];
    const result = await migrateUp(connection, { folder, dryRun: true, log: (l) => lines.push(l) });

    expect(result.migrations.map((m) => m.tag)).toEqual(["0000_a", "0001_b"]);
    expect(result.skipped).toEqual([
      { file: `${folder}/0000_a.sql`, statement: 2, reason: "CREATE INDEX CONCURRENTLY" },
    ]);
    expect(lines).toContain('ALTER TABLE "a" ADD COLUMN "b" text;');
    expect(lines.join("\n")).toMatch(/not run in a dry run \(CREATE INDEX CONCURRENTLY/);
    // Not even the bookkeeping schema was left behind.
    expect(await snapshotSchema(connection, [])).toEqual(before);
  });

  it("dry run catches a broken migration without changing anything", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    const folder = writeMigrationFolder([
      { tag: "0000_a", sql: 'CREATE TABLE "a" ("id" int);' },
      { tag: "0001_b", sql: 'ALTER TABLE "a" ADD COLUMN "b" text REFERENCES "nowhere" ("id");' },
    ]);
    const error = await migrateUp(connection, { folder, dryRun: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).message).toMatch(
      /0001_b\.sql:1: statement 1 failed.*nowhere/s,
    );
    expect((error as MigrationError).message).toContain("dry run");
    expect(await publicTables(connection)).toEqual([]);
    expect(await migrationRows(connection)).toEqual([]);
  });

  it("takes the backup hook's turn under the lock, only when something will change", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    const folder = writeMigrationFolder([{ tag: "0000_a", sql: 'CREATE TABLE "a" ("id" int);' }]);
    const calls: string[][] = [];
    const beforeChange = async (change: { migrations: readonly { tag: string }[] }) => {
      calls.push(change.migrations.map((m) => m.tag));
      expect(await publicTables(connection)).toEqual([]); // before anything ran
    };
    await migrateUp(connection, { folder, beforeChange, dryRun: true });
    await migrateUp(connection, { folder, beforeChange });
    await migrateUp(connection, { folder, beforeChange });
    expect(calls).toEqual([["0000_a"]]);
  });
});
