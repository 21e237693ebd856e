import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { afterEach, describe, expect, it } from "vitest";
import {
  downFileTemplate,
  readJournalTags,
  readMigrationFolder,
} from "../../../src/migrator/files.js";
import { MIGRATIONS_FOLDER } from "../../../src/migrator/migrate.js";

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A drizzle-style folder with a journal listing `tags` and the given files. */
function folderWith(tags: string[], files: Record<string, string>): string {
  const folder = mkdtempSync(join(tmpdir(), "migration-files-"));
  folders.push(folder);
  mkdirSync(join(folder, "meta"));
  const entries = tags.map((tag, idx) => ({ idx, version: "7", when: 1000 + idx, tag }));
  writeFileSync(join(folder, "meta", "_journal.json"), JSON.stringify({ entries }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
  return folder;
}

describe("readMigrationFolder", () => {
  it("computes hash, timestamp and statements exactly as drizzle-orm's migrator does", () => {
    const ours = readMigrationFolder(MIGRATIONS_FOLDER);
    const drizzles = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
    expect(ours.length).toBeGreaterThanOrEqual(2);
    expect(ours.map((m) => ({ hash: m.hash, when: m.when }))).toEqual(
      drizzles.map((m) => ({ hash: m.hash, when: m.folderMillis })),
    );
    expect(ours.map((m) => m.chunks.map((c) => c.text))).toEqual(
      drizzles.map((m) => m.sql.map((statement) => statement.trim())),
    );
  });

  it("gives every template migration a down file with SQL", () => {
    for (const migration of readMigrationFolder(MIGRATIONS_FOLDER)) {
      expect(migration.down.state, migration.tag).toBe("ready");
    }
  });

  it("tells missing, empty (comments only) and ready down files apart, and reads the marker", () => {
    const folder = folderWith(["0000_a", "0001_b", "0002_c", "0003_d"], {
      "0000_a.sql": "SELECT 1;",
      "0001_b.sql": "SELECT 1;",
      "0001_b.down.sql": "-- nothing yet\n\n/* still nothing */\n",
      "0002_c.sql": "SELECT 1;",
      "0002_c.down.sql": "-- lossless\nSELECT 2;",
      "0003_d.sql": "SELECT 1;",
      "0003_d.down.sql": "-- not lossless: drops data\nSELECT 3;",
    });
    const downs = readMigrationFolder(folder).map((m) => [m.down.state, m.down.lossless]);
    expect(downs).toEqual([
      ["missing", false],
      ["empty", false],
      ["ready", true],
      ["ready", false],
    ]);
  });

  it("fails naming the file when the journal lists a migration that isn't there", () => {
    const folder = folderWith(["0000_gone"], {});
    expect(() => readMigrationFolder(folder)).toThrow(/0000_gone\.sql/);
  });
});

describe("down files", () => {
  it("counts the hand-written-down template as empty and not lossless", () => {
    const folder = folderWith(["0000_a"], {
      "0000_a.sql": "SELECT 1;",
      "0000_a.down.sql": downFileTemplate("0000_a"),
    });
    expect(readJournalTags(folder)).toEqual(["0000_a"]);
    const [scaffolded] = readMigrationFolder(folder);
    expect(scaffolded?.down).toMatchObject({ state: "empty", lossless: false, restoredLast: [] });
  });

  it("reads the columns a down adds back at the end of their tables", () => {
    const folder = folderWith(["0000_a"], {
      "0000_a.sql": 'ALTER TABLE "t" DROP COLUMN "b";',
      "0000_a.down.sql": [
        '-- restored last: "public"."t"."b"',
        '-- restored last: "audit"."Log Entries"."say ""hi"""',
        '--   restored last: "public"."t"."not_a_marker"',
        'ALTER TABLE "t" ADD COLUMN "b" text;',
      ].join("\n"),
    });
    const [migration] = readMigrationFolder(folder);
    expect(migration?.down.restoredLast).toEqual([
      { schema: "public", table: "t", column: "b" },
      { schema: "audit", table: "Log Entries", column: 'say "hi"' },
    ]);
  });

  it("reads no tags from a folder without a journal", () => {
    const folder = mkdtempSync(join(tmpdir(), "migration-files-"));
    folders.push(folder);
    expect(readJournalTags(folder)).toEqual([]);
  });
});
