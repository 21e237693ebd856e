import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { afterEach, describe, expect, it } from "vitest";
import {
  downFileTemplate,
  readJournalTags,
  readMigrationFolder,
  scaffoldDownFiles,
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

describe("scaffoldDownFiles", () => {
  it("writes a comment-only template once, which counts as empty and not lossless", () => {
    const folder = folderWith(["0000_a", "0001_b"], {
      "0000_a.sql": "SELECT 1;",
      "0000_a.down.sql": "SELECT 0;",
      "0001_b.sql": "SELECT 1;",
    });
    expect(readJournalTags(folder)).toEqual(["0000_a", "0001_b"]);
    const written = scaffoldDownFiles(folder, ["0000_a", "0001_b"]);
    expect(written).toEqual([join(folder, "0001_b.down.sql")]);
    expect(readFileSync(join(folder, "0000_a.down.sql"), "utf8")).toBe("SELECT 0;");
    expect(readFileSync(join(folder, "0001_b.down.sql"), "utf8")).toBe(downFileTemplate("0001_b"));
    const [, scaffolded] = readMigrationFolder(folder);
    expect(scaffolded?.down).toMatchObject({ state: "empty", lossless: false });
    expect(scaffoldDownFiles(folder, ["0001_b"])).toEqual([]);
  });

  it("reads no tags from a folder without a journal", () => {
    const folder = mkdtempSync(join(tmpdir(), "migration-files-"));
    folders.push(folder);
    expect(readJournalTags(folder)).toEqual([]);
  });
});
