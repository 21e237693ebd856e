import { describe, expect, it } from "vitest";
import { restoreFalsyDefaults } from "../../../src/migrator/diff-repairs.js";
import {
  readRestoredLast,
  renderDownFile,
  reviewDownStatements,
} from "../../../src/migrator/down-review.js";
import { moveColumnsLast } from "../../../src/migrator/round-trip.js";
import type { DrizzleSnapshot } from "../../../src/migrator/snapshots.js";
import { splitChunks } from "../../../src/migrator/sql.js";

const noEnums = new Map<string, string[]>();
const notesOf = (statements: string[], enums: Map<string, string[]> = noEnums) =>
  reviewDownStatements(statements, enums).notes.map((n) => [n.statement, n.kind, n.message]);

describe("reviewDownStatements", () => {
  it("flags what a down loses: tables, columns and sequences the up created", () => {
    expect(
      notesOf([
        'DROP TABLE "notes" CASCADE;',
        'ALTER TABLE "audit"."log" DROP COLUMN "actor";',
        'DROP SEQUENCE "public"."ticket_seq";',
      ]),
    ).toEqual([
      [1, "loses", 'drops "public"."notes" and every row written to it since the up'],
      [2, "loses", 'drops "audit"."log"."actor" and every value written to it since the up'],
      [3, "loses", 'drops "public"."ticket_seq" and its current value'],
    ]);
  });

  it("flags what comes back empty, and the columns PostgreSQL appends at the end", () => {
    const review = reviewDownStatements(
      [
        'CREATE TABLE "notes" (\n\t"id" integer PRIMARY KEY NOT NULL\n);\n',
        'ALTER TABLE "users" ADD COLUMN "nickname" text;',
        'ALTER TABLE "users" ADD COLUMN "code" integer NOT NULL;',
        'ALTER TABLE "users" ADD COLUMN "rank" integer DEFAULT 0 NOT NULL;',
      ],
      noEnums,
    );
    expect(review.notes.map((n) => [n.statement, n.kind])).toEqual([
      [1, "empty"],
      [2, "empty"],
      [3, "fails"],
      [4, "empty"],
    ]);
    expect(review.notes[0]?.message).toBe(
      'recreates "public"."notes" empty: the rows the up dropped are gone',
    );
    expect(review.notes[2]?.message).toMatch(/NOT NULL without a default, so it fails unless/);
    expect(review.restoredLast).toEqual([
      { schema: "public", table: "users", column: "nickname" },
      { schema: "public", table: "users", column: "code" },
      { schema: "public", table: "users", column: "rank" },
    ]);
  });

  it("flags what can fail on rows written since the up", () => {
    expect(
      notesOf([
        'ALTER TABLE "notes" ALTER COLUMN "score" SET DATA TYPE integer;',
        'ALTER TABLE "notes" ALTER COLUMN "title" SET NOT NULL;',
        'ALTER TABLE "notes" ADD CONSTRAINT "notes_title_key" UNIQUE("title");',
        'ALTER TABLE "notes" ADD CONSTRAINT "notes_score_check" CHECK ("notes"."score" >= 0);',
        'ALTER TABLE "notes" ADD CONSTRAINT "notes_author_fk" FOREIGN KEY ("author_id") REFERENCES "public"."authors"("id");',
        'CREATE UNIQUE INDEX "notes_lower_title_key" ON "notes" USING btree (lower("title"));',
      ]),
    ).toEqual([
      [
        1,
        "fails",
        'changes "public"."notes"."score" back to integer: a value that doesn\'t fit fails the down; numeric scale and timestamp precision are rounded',
      ],
      [2, "fails", 'fails while rows written since the up hold NULL in "public"."notes"."title"'],
      [3, "fails", 'fails if rows written since the up break UNIQUE constraint "notes_title_key"'],
      [4, "fails", 'fails if rows written since the up break CHECK constraint "notes_score_check"'],
      [
        5,
        "fails",
        'fails if rows written since the up break FOREIGN KEY constraint "notes_author_fk"',
      ],
      [6, "fails", 'fails if rows written since the up break unique index "notes_lower_title_key"'],
    ]);
  });

  it("explains an enum value's removal once, where rows can make it fail", () => {
    const enums = new Map([["public.mood", ["great"]]]);
    expect(
      notesOf(
        [
          'ALTER TABLE "people" ALTER COLUMN "mood" SET DATA TYPE text;',
          `ALTER TABLE "people" ALTER COLUMN "mood" SET DEFAULT 'ok'::text;`,
          'DROP TYPE "public"."mood";',
          `CREATE TYPE "public"."mood" AS ENUM('ok', 'bad');`,
          `ALTER TABLE "people" ALTER COLUMN "mood" SET DEFAULT 'ok'::"public"."mood";`,
          'ALTER TABLE "people" ALTER COLUMN "mood" SET DATA TYPE "public"."mood" USING "mood"::"public"."mood";',
        ],
        enums,
      ),
    ).toEqual([
      [
        4,
        "loses",
        `recreates "public"."mood" without 'great': PostgreSQL can't drop an enum value`,
      ],
      [6, "fails", `fails while rows hold 'great' in "public"."people"."mood": update them first`],
    ]);
  });

  it("leaves statements that keep every row alone", () => {
    expect(
      notesOf([
        'DROP INDEX "notes_kind_idx";',
        'ALTER TABLE "notes" DROP CONSTRAINT "notes_title_key";',
        'ALTER TABLE "notes" ALTER COLUMN "body" DROP NOT NULL;',
        'ALTER TABLE "notes" ALTER COLUMN "body" SET DEFAULT \'\';',
        'CREATE INDEX "notes_author_idx" ON "notes" USING btree ("author_id");',
        'DROP TYPE "public"."mood";',
        `CREATE TYPE "public"."mood" AS ENUM('ok');`,
      ]),
    ).toEqual([]);
  });
});

describe("renderDownFile", () => {
  const statements = [
    'DROP INDEX "users_nickname_idx";',
    'ALTER TABLE "users" ADD COLUMN "nickname" text;',
  ];
  const text = renderDownFile({
    tag: "0002_x",
    fromSnapshot: "meta/0002_snapshot.json",
    toSnapshot: "meta/0001_snapshot.json",
    statements,
    review: reviewDownStatements(statements, noEnums),
  });

  it("heads the statements with what the file reverses and what to review", () => {
    expect(text).toMatch(/^-- Down migration for 0002_x\.sql, generated by `npm run db:generate`/);
    expect(text).toContain("from meta/0002_snapshot.json back to meta/0001_snapshot.json.");
    expect(text).toContain(
      '--   statement 2: adds "public"."users"."nickname" back as the table\'s last column',
    );
    expect(readRestoredLast(text)).toEqual([
      { schema: "public", table: "users", column: "nickname" },
    ]);
  });

  it("numbers statements as the runner does: one chunk per statement", () => {
    const chunks = splitChunks(text).filter((chunk) => chunk.statements.length > 0);
    expect(chunks.map((chunk) => [chunk.index, chunk.statements[0]?.code])).toEqual([
      [1, 'DROP INDEX "users_nickname_idx"'],
      [2, 'ALTER TABLE "users" ADD COLUMN "nickname" text'],
    ]);
  });

  it("says so when nothing is flagged", () => {
    const plain = renderDownFile({
      tag: "0001_y",
      fromSnapshot: "meta/0001_snapshot.json",
      toSnapshot: undefined,
      statements: ['DROP INDEX "a_idx";'],
      review: { notes: [], restoredLast: [] },
    });
    expect(plain).toContain("back to the empty schema.");
    expect(plain).toContain("-- To review: nothing flagged");
  });
});

describe("restoreFalsyDefaults", () => {
  const snapshot = (type: string, value: unknown): DrizzleSnapshot => ({
    id: "x",
    prevId: "y",
    enums: {},
    _meta: { schemas: {}, tables: {}, columns: {} },
    tables: {
      "public.notes": {
        name: "notes",
        schema: "",
        columns: {
          score: { name: "score", type, ...(value === undefined ? {} : { default: value }) },
        },
      },
    },
  });
  const retype = 'ALTER TABLE "notes" ALTER COLUMN "score" SET DATA TYPE integer;';

  it("adds the default 0 or false that drizzle-kit leaves out of a type change", () => {
    const repaired = restoreFalsyDefaults(
      ['DROP INDEX "x";', retype, 'DROP INDEX "y";'],
      snapshot("bigint", 1),
      snapshot("integer", 0),
    );
    expect(repaired.statements).toEqual([
      'DROP INDEX "x";',
      retype,
      'ALTER TABLE "notes" ALTER COLUMN "score" SET DEFAULT 0;',
      'DROP INDEX "y";',
    ]);
    expect(repaired.repairs).toEqual([
      { statement: 3, message: expect.stringContaining('default 0 of "public"."notes"."score"') },
    ]);
    const toFalse = restoreFalsyDefaults(
      [retype],
      snapshot("text", undefined),
      snapshot("boolean", false),
    );
    expect(toFalse.statements.at(-1)).toBe(
      'ALTER TABLE "notes" ALTER COLUMN "score" SET DEFAULT false;',
    );
  });

  it("adds nothing drizzle-kit already wrote, nor for truthy or unchanged defaults", () => {
    const written = [retype, 'ALTER TABLE "notes" ALTER COLUMN "score" SET DEFAULT 0;'];
    for (const [statements, from, to] of [
      [written, snapshot("bigint", 1), snapshot("integer", 0)],
      [[retype], snapshot("bigint", 0), snapshot("integer", 1)],
      [[retype], snapshot("bigint", 0), snapshot("integer", 0)],
      [
        ['ALTER TABLE "notes" ALTER COLUMN "score" SET DEFAULT 0;'],
        snapshot("integer", 1),
        snapshot("integer", 0),
      ],
    ] as const) {
      expect(restoreFalsyDefaults(statements, from, to).repairs).toEqual([]);
    }
  });
});

describe("moveColumnsLast", () => {
  it("renumbers a table's columns with the restored ones at the end, in the order given", () => {
    const before = {
      columns: [
        "public.t #1 id integer notnull=t",
        "public.t #2 a text notnull=f",
        "public.t #3 b text notnull=f",
        "public.t #4 c text notnull=f",
        '"My Schema"."U" #1 "Mixed Case" text notnull=f',
        '"My Schema"."U" #2 z text notnull=f',
      ],
      indexes: ["CREATE INDEX t_a_idx ON public.t USING btree (a)"],
    };
    const moved = moveColumnsLast(before, [
      { schema: "public", table: "t", column: "b" },
      { schema: "public", table: "t", column: "a" },
      { schema: "My Schema", table: "U", column: "Mixed Case" },
      { schema: "public", table: "t", column: "not_there" },
    ]);
    expect(moved).toEqual({
      columns: [
        '"My Schema"."U" #1 z text notnull=f',
        '"My Schema"."U" #2 "Mixed Case" text notnull=f',
        "public.t #1 id integer notnull=t",
        "public.t #2 c text notnull=f",
        "public.t #3 b text notnull=f",
        "public.t #4 a text notnull=f",
      ],
      indexes: before.indexes,
    });
    expect(moveColumnsLast(before, [])).toBe(before);
  });
});
