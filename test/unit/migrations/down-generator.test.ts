import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { generateDownMigration, writeDownMigration } from "../../../src/migrator/down-generator.js";
import { MigrationPlanError, UnknownMigrationError } from "../../../src/migrator/errors.js";
import { readMigrationFolder } from "../../../src/migrator/files.js";
import { MIGRATIONS_FOLDER } from "../../../src/migrator/migrate.js";
import { FIRST_PREV_ID, readSnapshotPair, snapshotPath } from "../../../src/migrator/snapshots.js";
import { splitStatements } from "../../../src/migrator/sql.js";

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});
/** A copy of the template's drizzle/ folder to write into. */
function copyOfMigrations(): string {
  const folder = mkdtempSync(join(tmpdir(), "down-generator-"));
  folders.push(folder);
  cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
  return folder;
}
const [first, second] = readMigrationFolder(MIGRATIONS_FOLDER);
/** The committed down file's statements, normalized. */
const committedDown = (tag: string) =>
  readMigrationFolder(MIGRATIONS_FOLDER)
    .find((m) => m.tag === tag)
    ?.down.chunks.flatMap((chunk) => chunk.statements.map((s) => s.code));
const normalized = (statements: readonly string[]) =>
  statements.map((text) => splitStatements(text)[0]?.code);

describe("readSnapshotPair", () => {
  it("pairs a migration's snapshot with its predecessor's, found by prevId", () => {
    if (!first || !second) throw new Error("the template has two migrations");
    const empty = () => {
      throw new Error("not the first migration");
    };
    const pair = readSnapshotPair(MIGRATIONS_FOLDER, second.tag, empty);
    expect(pair.after.file).toBe(snapshotPath(MIGRATIONS_FOLDER, second.tag));
    expect(pair.before.file).toBe(snapshotPath(MIGRATIONS_FOLDER, first.tag));
    expect(pair.after.snapshot.prevId).toBe(pair.before.snapshot.id);

    const start = readSnapshotPair(MIGRATIONS_FOLDER, first.tag, () => ({
      ...pair.before.snapshot,
      tables: {},
    }));
    expect(start.after.snapshot.prevId).toBe(FIRST_PREV_ID);
    expect(start.before).toMatchObject({ file: undefined, snapshot: { tables: {} } });
  });
});

describe("generateDownMigration", () => {
  it("reproduces the template's hand-written downs from drizzle-kit's snapshots", async () => {
    if (!first || !second) throw new Error("the template has two migrations");
    // drizzle-kit drops the tables with CASCADE, so it needs no dependants-first order.
    const init = await generateDownMigration(MIGRATIONS_FOLDER, first.tag);
    expect(
      normalized(init.statements)
        .map((s) => s?.replace(/ CASCADE$/, ""))
        .toSorted(),
    ).toEqual(committedDown(first.tag)?.toSorted());
    // 0001's up also holds a hand-written backfill, which the diff doesn't see and needn't undo.
    const updatedAt = await generateDownMigration(MIGRATIONS_FOLDER, second.tag);
    expect(normalized(updatedAt.statements)).toEqual(committedDown(second.tag));
    expect(updatedAt.text).toContain(
      `from meta/${second.tag.split("_")[0]}_snapshot.json back to meta/${first.tag.split("_")[0]}_snapshot.json.`,
    );
    expect(updatedAt.review.notes.map((n) => n.message)).toEqual([
      'drops "public"."accounts"."updated_at" and every value written to it since the up',
    ]);
  });

  it("refuses an unknown tag, and never overwrites a down file that holds SQL", async () => {
    const folder = copyOfMigrations();
    await expect(generateDownMigration(folder, "9999_nope")).rejects.toThrow(UnknownMigrationError);
    const tag = second?.tag ?? "";
    const file = join(folder, `${tag}.down.sql`);
    const reviewed = readFileSync(file, "utf8");
    await expect(writeDownMigration(folder, tag)).rejects.toThrow(MigrationPlanError);
    expect(readFileSync(file, "utf8")).toBe(reviewed);

    // A comment-only scaffold is replaced.
    writeFileSync(file, "-- TODO\n");
    const written = await writeDownMigration(folder, tag);
    expect(readFileSync(file, "utf8")).toBe(written.text);
    expect(written.text).toContain('ALTER TABLE "accounts" DROP COLUMN "updated_at";');
  });
});
