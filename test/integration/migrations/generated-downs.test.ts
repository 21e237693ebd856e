/**
 * Generated down migrations, end to end. In a copy of the project (its schema, drizzle/ folder
 * and drizzle config), a schema file of the test's own changes three times, covering every kind
 * of change; each batch goes through the real CLI (`db generate`, or `drizzle-kit generate`
 * followed by `db generate --down-only`). Then every generated pair is round-tripped on the
 * suite's database, and on PGlite too when that is a real server.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drizzleKitCommand } from "../../../src/migrator/generate.js";
import {
  type MigrationConnection,
  MigrationError,
  type MigrationFile,
  migrateUp,
  pgliteMigrationConnection,
  readJournalTags,
  readMigrationStatus,
  rollback,
  verifyRoundTrips,
} from "../../../src/migrator/index.js";
import { onRealServer } from "../../setup/test-database.js";
import { type CliResult, createEmptyDatabase, ROOT, runCommand, runNode } from "./helpers.js";

// One schema file, rewritten per batch. Columns and constraints are added and dropped on
// different tables in one batch, so drizzle-kit never has to ask "rename or create?".
const NOTES_V1 = `
import { index, integer, pgEnum, pgTable, text } from "drizzle-orm/pg-core";

export const noteKind = pgEnum("note_kind", ["info", "warning"]);

export const noteAuthors = pgTable("note_authors", {
  id: integer("id").primaryKey(),
  nickname: text("nickname"),
  email: text("email"),
});

export const notes = pgTable(
  "notes",
  {
    id: integer("id").primaryKey(),
    authorId: integer("author_id").notNull().references(() => noteAuthors.id),
    kind: noteKind("kind").notNull().default("info"),
    title: text("title").notNull(),
    body: text("body"),
    score: integer("score").notNull().default(0),
  },
  (t) => [index("notes_author_id_idx").on(t.authorId)],
);
`;

const NOTES_V2 = `
import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, integer, pgEnum, pgTable, text, unique, varchar } from "drizzle-orm/pg-core";

export const noteKind = pgEnum("note_kind", ["info", "warning", "urgent"]);

export const noteAuthors = pgTable("note_authors", {
  id: integer("id").primaryKey(),
  email: text("email"),
});

export const notes = pgTable(
  "notes",
  {
    id: integer("id").primaryKey(),
    authorId: integer("author_id").notNull().references(() => noteAuthors.id),
    kind: noteKind("kind").notNull().default("info"),
    title: varchar("title", { length: 200 }),
    body: text("body").notNull().default(""),
    score: bigint("score", { mode: "number" }).notNull().default(1),
    pinned: boolean("pinned").notNull().default(false),
    reviewerId: integer("reviewer_id").references(() => noteAuthors.id, { onDelete: "set null" }),
  },
  (t) => [
    index("notes_kind_idx").on(t.kind),
    unique("notes_author_title_key").on(t.authorId, t.title),
    check("notes_score_non_negative", sql\`\${t.score} >= 0\`),
  ],
);
`;

const NOTES_V3 = `
import { integer, pgTable, text } from "drizzle-orm/pg-core";

export const noteAuthors = pgTable("note_authors", {
  id: integer("id").primaryKey(),
  email: text("email"),
});
`;

let project = "";
let drizzleFolder = "";
/** The project's newest migration before the test's, and the three the test generates. */
let previousTag: string | undefined;
let tags: string[] = [];
const outputs: Record<string, CliResult> = {};
/** Started first, so PGlite boots while the generators run in child processes. */
let embedded: Promise<PGlite> | undefined;

/** Runs a TypeScript entry point of the repository in the project copy. */
const inProject = (args: string[]) => runNode(args, { cwd: project, env: { NODE_ENV: "test" } });
const writeNotes = (source: string) =>
  writeFileSync(join(project, "src/db/schema/notes.ts"), source);
const newTags = (before: readonly string[]) =>
  readJournalTags(drizzleFolder).filter((tag) => !before.includes(tag));
const down = (tag: string) => readFileSync(join(drizzleFolder, `${tag}.down.sql`), "utf8");

beforeAll(async () => {
  if (onRealServer()) embedded = PGlite.create("memory://");
  project = mkdtempSync(join(tmpdir(), "generated-downs-"));
  for (const path of ["package.json", "drizzle.config.ts", "drizzle", "src/db/schema"]) {
    cpSync(join(ROOT, path), join(project, path), { recursive: true });
  }
  symlinkSync(join(ROOT, "node_modules"), join(project, "node_modules"), "dir");
  drizzleFolder = join(project, "drizzle");
  const index = join(project, "src/db/schema/index.ts");
  writeFileSync(index, `${readFileSync(index, "utf8")}export * from "./notes.js";\n`);
  const before = readJournalTags(drizzleFolder);
  previousTag = before.at(-1);

  writeNotes(NOTES_V1);
  outputs.notes = await inProject(["src/cli/db.ts", "generate", "--name", "notes"]);

  // A migration made with drizzle-kit directly has no down file until --down-only.
  writeNotes(NOTES_V2);
  const afterNotes = readJournalTags(drizzleFolder);
  const kit = drizzleKitCommand();
  outputs.kit = await runCommand(kit.command, [...kit.args, "generate", "--name", "alter"], {
    cwd: project,
  });
  const [alter = ""] = newTags(afterNotes);
  outputs.checkWithoutDown = await inProject(["scripts/check-migrations.mjs"]);
  outputs.alter = await inProject(["src/cli/db.ts", "generate", "--down-only", alter]);

  writeNotes(NOTES_V3);
  outputs.drop = await inProject(["src/cli/db.ts", "generate", "--name", "drop_notes"]);
  outputs.check = await inProject(["scripts/check-migrations.mjs"]);
  tags = newTags(before);
});

afterAll(async () => {
  await (await embedded)?.close();
  if (project) rmSync(project, { recursive: true, force: true });
});

/** Rows for the round trip, written against the schema as it is before `next`'s up. */
async function seed(connection: MigrationConnection, next: MigrationFile): Promise<void> {
  if (next.tag === tags[1]) {
    await connection.execute(`
      insert into note_authors (id, nickname, email) values (1, 'ann', 'ann@example.com'), (2, null, null);
      insert into notes (id, author_id, kind, title, body, score)
        values (1, 1, 'warning', 'First', 'text', 3), (2, 2, 'info', 'Second', 'more', 0);`);
  }
  if (next.tag === tags[2]) {
    await connection.execute(`
      insert into notes (id, author_id, kind, title, body, score, pinned, reviewer_id)
        values (3, 1, 'urgent', null, '', 7, true, 2);`);
  }
}

describe("generated down migrations", () => {
  it("are written by db generate and db generate --down-only, and satisfy db:check", () => {
    expect(tags).toHaveLength(3);
    const [notes = "", alter = "", drop = ""] = tags;
    expect(tags.map((tag) => tag.replace(/^\d+_/, ""))).toEqual(["notes", "alter", "drop_notes"]);
    for (const [name, result] of Object.entries(outputs)) {
      if (name !== "checkWithoutDown") expect(result, name).toMatchObject({ code: 0 });
    }
    expect(outputs.notes?.stdout).toContain(`down file generated: drizzle/${notes}.down.sql`);
    expect(outputs.alter?.stdout).toContain(`down file generated: drizzle/${alter}.down.sql`);

    // db:check fails while the down file is missing, and says how to generate it.
    expect(outputs.checkWithoutDown?.code).toBe(1);
    expect(outputs.checkWithoutDown?.stderr).toContain(
      `down migration missing: drizzle/${alter}.down.sql (generate it: npm run db:generate -- --down-only ${alter}`,
    );
    expect(outputs.check?.stdout).toMatch(/migrations match the schema/);

    const snapshot = (tag: string | undefined) => `meta/${tag?.split("_")[0]}_snapshot.json`;
    expect(down(notes)).toMatch(/^-- Down migration for .*generated by `npm run db:generate`/);
    expect(down(notes)).toContain(`from ${snapshot(notes)} back to ${snapshot(previousTag)}.`);
    expect(down(notes)).toContain(
      'drops "public"."notes" and every row written to it since the up',
    );
    expect(down(drop)).toContain('recreates "public"."notes" empty');
  });

  it("flag what rolling back the alterations does to data", () => {
    const alter = down(tags[1] ?? "");
    for (const note of [
      `recreates "public"."note_kind" without 'urgent': PostgreSQL can't drop an enum value`,
      `fails while rows hold 'urgent' in "public"."notes"."kind"`,
      'adds "public"."note_authors"."nickname" back as the table\'s last column',
      'changes "public"."notes"."score" back to integer',
      'restores the default 0 of "public"."notes"."score" (drizzle-kit 0.31 leaves',
      'fails while rows written since the up hold NULL in "public"."notes"."title"',
      'drops "public"."notes"."pinned" and every value written to it since the up',
    ]) {
      expect(alter).toContain(note);
    }
    expect(alter).toContain('-- restored last: "public"."note_authors"."nickname"');
  });

  it("round-trip on the suite's database, with rows in the tables", async () => {
    const db = await createEmptyDatabase();
    const report = await verifyRoundTrips(await db.connect(), { folder: drizzleFolder, seed });
    expect(report.problems).toEqual([]);
    expect(report.migrations.map((m) => m.tag)).toEqual(readJournalTags(drizzleFolder));
  });

  it.runIf(onRealServer())("round-trip on PGlite as well", async () => {
    if (!embedded) throw new Error("PGlite was not started");
    const report = await verifyRoundTrips(pgliteMigrationConnection(await embedded), {
      folder: drizzleFolder,
      seed,
    });
    expect(report.problems).toEqual([]);
  });

  it("refuse to drop an enum value that rows still hold, and change nothing", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    const [, alter = ""] = tags;
    await migrateUp(connection, { folder: drizzleFolder, to: alter });
    await connection.execute(`
      insert into note_authors (id, email) values (1, null);
      insert into notes (id, author_id, kind, title) values (1, 1, 'urgent', 'Urgent');`);

    const error = await rollback(connection, { folder: drizzleFolder }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/invalid input value for enum .*note_kind.*"urgent"/);
    expect((error as Error).message).toContain("rolled back");
    const status = await readMigrationStatus(connection, { folder: drizzleFolder });
    expect(status.entries.find((e) => e.migration.tag === alter)?.state).toBe("applied");
    expect(await connection.query("select kind::text from notes")).toEqual([{ kind: "urgent" }]);

    await connection.execute("update notes set kind = 'warning'");
    await rollback(connection, { folder: drizzleFolder });
    const [labels] = await connection.query<{ labels: string }>(
      "select string_agg(enumlabel, ',' order by enumsortorder) as labels from pg_enum where enumtypid = 'note_kind'::regtype",
    );
    expect(labels?.labels).toBe("info,warning");
  });
});
