import { describe, expect, it } from "vitest";
import { migrateUp, readMigrationStatus } from "../../../src/migrator/index.js";
import {
  createEmptyDatabase,
  type FolderMigration,
  migrateWithDrizzleOrm,
  publicTables,
  rewriteMigrationFolder,
  writeMigrationFolder,
} from "./helpers.js";

// main applied 0000 and 0002; 0001 was generated earlier on a feature branch and merged later,
// so its journal `when` is older than the newest applied migration.
const main: FolderMigration[] = [
  { tag: "0000_base", when: 1_000, sql: 'CREATE TABLE "base" ("id" int);' },
  { tag: "0002_main", when: 3_000, sql: 'CREATE TABLE "from_main" ("id" int);' },
];
const merged: FolderMigration[] = [
  main[0] as FolderMigration,
  { tag: "0001_branch", when: 2_000, sql: 'CREATE TABLE "from_branch" ("id" int);' },
  main[1] as FolderMigration,
];

describe("a migration merged from an older branch", () => {
  it("is skipped by drizzle's migrator, flagged by status and applied by migrateUp", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    const folder = writeMigrationFolder(main);
    await migrateUp(connection, { folder });
    rewriteMigrationFolder(folder, merged);

    // The premise: drizzle-orm's migrator (what drizzle-kit migrate runs) skips it silently.
    await migrateWithDrizzleOrm(db, folder);
    expect(await publicTables(connection)).toEqual(["base", "from_main"]);

    const status = await readMigrationStatus(connection, { folder });
    expect(status.entries.map((e) => [e.migration.tag, e.state])).toEqual([
      ["0000_base", "applied"],
      ["0001_branch", "pending"],
      ["0002_main", "applied"],
    ]);
    expect(status.entries[1]).toMatchObject({ outOfOrder: true });
    expect(status.drift).toBe(false);

    const lines: string[] = [];
    const result = await migrateUp(connection, { folder, log: (line) => lines.push(line) });
    expect(result.migrations.map((m) => m.tag)).toEqual(["0001_branch"]);
    expect(lines.join("\n")).toMatch(/0001_branch is older than the newest applied migration/);
    expect(await publicTables(connection)).toEqual(["base", "from_branch", "from_main"]);

    const after = await readMigrationStatus(connection, { folder });
    expect(after.pending).toEqual([]);
    expect(after.entries.every((e) => e.state === "applied")).toBe(true);
  });
});
