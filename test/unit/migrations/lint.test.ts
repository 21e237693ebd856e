import { describe, expect, it } from "vitest";
import { type LintOptions, lintMigrations } from "../../../src/migrator/lint.js";

const lint = (sql: string, options?: LintOptions) =>
  lintMigrations([{ tag: "0001_x", sql }], options).map((f) => [f.rule, f.table]);

/** `users` exists with 1M rows, `tiny` with 10. */
const existing: LintOptions = {
  existingTables: new Map([
    ["public.users", 1_000_000],
    ["public.tiny", 10],
  ]),
};

describe("lintMigrations", () => {
  it.each([
    ['DROP TABLE "users";', "drop-table"],
    ["drop table if exists public.users cascade;", "drop-table"],
    ['ALTER TABLE "users" DROP COLUMN "name";', "drop-column"],
    ["ALTER TABLE users DROP name;", "drop-column"],
    ['ALTER TABLE "public"."users" ALTER COLUMN "age" SET DATA TYPE bigint;', "alter-column-type"],
    ["ALTER TABLE users ALTER age TYPE numeric(10, 2) USING age::numeric;", "alter-column-type"],
    ['ALTER TABLE "users" ALTER COLUMN "email" SET NOT NULL;', "set-not-null"],
    [
      'ALTER TABLE "users" ADD COLUMN "token" uuid DEFAULT gen_random_uuid() NOT NULL;',
      "volatile-default",
    ],
    ["ALTER TABLE users ADD COLUMN seq bigserial;", "volatile-default"],
    ["ALTER TABLE users ADD COLUMN n int GENERATED ALWAYS AS IDENTITY;", "volatile-default"],
    ['CREATE INDEX "users_x_idx" ON "users" USING btree ("x");', "index-not-concurrent"],
    ["create unique index on only users (lower(email));", "index-not-concurrent"],
  ])("flags %s", (sql, rule) => {
    expect(lint(sql, existing)).toEqual([[rule, "public.users"]]);
  });

  it.each([
    ['CREATE INDEX CONCURRENTLY "users_x_idx" ON "users" ("x");'],
    ['ALTER TABLE "users" ADD COLUMN "seen_at" timestamptz DEFAULT now() NOT NULL;'],
    ['ALTER TABLE "users" ADD COLUMN "note" text;'],
    ['ALTER TABLE "users" ADD CONSTRAINT "users_x_check" CHECK ("x" > 0) NOT VALID;'],
    ['ALTER TABLE "users" ALTER COLUMN "x" DROP DEFAULT;'],
    ['ALTER TABLE "users" DROP CONSTRAINT "users_x_check";'],
    ["UPDATE users SET name = 'DROP TABLE users';"],
    ["DO $$ BEGIN EXECUTE 'DROP TABLE users'; END $$;"],
  ])("accepts %s", (sql) => {
    expect(lint(sql, existing)).toEqual([]);
  });

  it("checks SET NOT NULL and volatile defaults only on large tables", () => {
    const sql =
      'ALTER TABLE "tiny" ALTER COLUMN "a" SET NOT NULL;--> statement-breakpoint\n' +
      'ALTER TABLE "tiny" ADD COLUMN "b" uuid DEFAULT gen_random_uuid();';
    expect(lint(sql, existing)).toEqual([]);
    expect(lint(sql, { ...existing, largeTableRows: 5 })).toEqual([
      ["set-not-null", "public.tiny"],
      ["volatile-default", "public.tiny"],
    ]);
  });

  it("never flags tables created earlier in the same batch", () => {
    const findings = lintMigrations(
      [
        { tag: "0001_a", sql: 'CREATE TABLE "fresh" ("id" int);' },
        {
          tag: "0002_b",
          sql:
            'CREATE INDEX "fresh_idx" ON "fresh" ("id");--> statement-breakpoint\n' +
            'ALTER TABLE "fresh" ALTER COLUMN "id" SET NOT NULL;--> statement-breakpoint\n' +
            'ALTER TABLE "fresh" DROP COLUMN "id";--> statement-breakpoint\n' +
            'DROP TABLE "fresh";',
        },
      ],
      existing,
    );
    expect(findings).toEqual([]);
  });

  it("ignores tables that don't exist yet, and assumes every table exists when not told", () => {
    expect(lint('CREATE INDEX "i" ON "later" ("x");', existing)).toEqual([]);
    expect(lint('CREATE INDEX "i" ON "later" ("x");')).toEqual([
      ["index-not-concurrent", "public.later"],
    ]);
  });

  it("reports each ALTER TABLE action, with the migration and chunk it is in", () => {
    const findings = lintMigrations(
      [
        {
          tag: "0007_mixed",
          sql:
            "SELECT 1;--> statement-breakpoint\n" +
            'ALTER TABLE "users" DROP COLUMN "a", ADD COLUMN "b" numeric(10,2), ALTER COLUMN "c" TYPE text;',
        },
      ],
      existing,
    );
    expect(findings.map((f) => [f.tag, f.statement, f.rule])).toEqual([
      ["0007_mixed", 2, "drop-column"],
      ["0007_mixed", 2, "alter-column-type"],
    ]);
    expect(findings[0]?.message).toContain("public.users.a");
  });

  it("keeps the case of quoted identifiers and folds unquoted ones", () => {
    const options = { existingTables: new Map([["Audit.Log", 0]]) };
    expect(lint('DROP TABLE "Audit"."Log";', options)).toEqual([["drop-table", "Audit.Log"]]);
    expect(lint("DROP TABLE Audit.Log;", options)).toEqual([]);
  });
});
