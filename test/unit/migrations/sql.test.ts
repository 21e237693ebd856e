import { describe, expect, it } from "vitest";
import {
  hasStatements,
  nonTransactionalReason,
  splitChunks,
  splitStatements,
} from "../../../src/migrator/sql.js";

describe("splitStatements", () => {
  it("splits on top-level semicolons and normalizes whitespace", () => {
    const statements = splitStatements("CREATE TABLE a (x int);\n\n  DROP   TABLE b ;");
    expect(statements.map((s) => s.code)).toEqual(["CREATE TABLE a (x int)", "DROP TABLE b"]);
    expect(statements[1]?.text).toBe("DROP   TABLE b");
  });

  it("ignores semicolons and keywords inside literals, identifiers and comments", () => {
    const sql = [
      "INSERT INTO t VALUES ('a;b', E'it\\'s; DROP TABLE x', 'O''Neil;');",
      'CREATE TABLE "we;ird" (x int); -- DROP TABLE users;',
      "/* outer /* nested; */ still comment; */ SELECT 1;",
      "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN DROP TABLE y; RETURN 1; END $body$ LANGUAGE plpgsql;",
      "DO $$ BEGIN PERFORM 1; END $$",
    ].join("\n");
    expect(splitStatements(sql).map((s) => s.code)).toEqual([
      "INSERT INTO t VALUES ('', E'', '')",
      'CREATE TABLE "we;ird" (x int)',
      "SELECT 1",
      "CREATE FUNCTION f() RETURNS int AS $$$$ LANGUAGE plpgsql",
      "DO $$$$",
    ]);
  });

  it("treats a comment-only text as no statements", () => {
    expect(splitStatements("-- nothing here\n/* nor here */\n")).toEqual([]);
    expect(hasStatements("-- nothing\n")).toBe(false);
    expect(hasStatements("-- something\nSELECT 1")).toBe(true);
  });

  it("does not take $1 or identifiers with $ for dollar quotes", () => {
    expect(splitStatements("SELECT a$b$c FROM t; SELECT 2").map((s) => s.code)).toEqual([
      "SELECT a$b$c FROM t",
      "SELECT 2",
    ]);
  });
});

describe("splitChunks", () => {
  it("splits on drizzle's breakpoint like drizzle-orm and numbers chunks and lines", () => {
    const sql =
      'CREATE TABLE "a" (x int);--> statement-breakpoint\n' +
      "-- comment line\n" +
      "\n" +
      'CREATE INDEX "i" ON "a" (x);--> statement-breakpoint\n' +
      "-- only a comment\n";
    const chunks = splitChunks(sql);
    expect(chunks.map((c) => [c.index, c.line, c.statements.length])).toEqual([
      [1, 1, 1],
      [2, 2, 1],
      [3, 5, 0],
    ]);
    expect(chunks[1]?.text).toBe('-- comment line\n\nCREATE INDEX "i" ON "a" (x);');
  });
});

describe("nonTransactionalReason", () => {
  it.each([
    ['CREATE INDEX CONCURRENTLY "i" ON "t" (x)', "CREATE INDEX CONCURRENTLY"],
    ["create unique index concurrently i on t (x)", "CREATE INDEX CONCURRENTLY"],
    ["DROP INDEX CONCURRENTLY i", "DROP INDEX CONCURRENTLY"],
    ["REINDEX INDEX CONCURRENTLY i", "REINDEX CONCURRENTLY"],
    ["VACUUM (ANALYZE) t", "VACUUM"],
    ["CREATE DATABASE x", "CREATE/DROP DATABASE"],
    ["ALTER SYSTEM SET work_mem = ''", "ALTER SYSTEM"],
  ])("flags %s", (code, reason) => {
    expect(nonTransactionalReason(code, 150000)).toBe(reason);
  });

  it.each([
    'CREATE INDEX "i" ON "t" (x)',
    "ALTER TABLE t ADD COLUMN concurrently int",
    "REINDEX INDEX i",
    "SELECT 'VACUUM'",
  ])("lets %s run in a transaction", (code) => {
    expect(nonTransactionalReason(code, 150000)).toBeUndefined();
  });

  it("flags ALTER TYPE ... ADD VALUE only before PostgreSQL 12", () => {
    const code = "ALTER TYPE mood ADD VALUE ''";
    expect(nonTransactionalReason(code, 110022)).toMatch(/ADD VALUE/);
    expect(nonTransactionalReason(code, 120000)).toBeUndefined();
  });
});
