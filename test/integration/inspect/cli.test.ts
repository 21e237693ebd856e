/**
 * `db:inspect` as a process: exit codes and messages for bad input, for a server it can't
 * reach, and for `top` with and without a usable pg_stat_statements.
 */
import { describe, expect, it } from "vitest";
import { NEEDS_SERVER, onRealServer, withAdmin } from "../../setup/test-database.js";
import {
  type CliResult,
  createScratchDatabase,
  onCleanup,
  openSession,
  runInspect,
  unique,
  waitFor,
} from "./helpers.js";

const A_STACK_FRAME = /^\s+at /m;

/** Exit 2, the one-line message first, then the usage; no stack. */
function expectUsageExit(result: CliResult, message: string | RegExp) {
  expect(result.code, result.stderr).toBe(2);
  const [first, ...rest] = result.stderr.split("\n");
  expect(first).toMatch(/^db:inspect: /);
  expect(first).toMatch(message);
  expect(rest.join("\n")).toContain("usage: npm run db:inspect -- <command>");
  expect(result.stderr).not.toMatch(A_STACK_FRAME);
  expect(result.stdout).toBe("");
}

describe("db:inspect input checks (no server needed)", () => {
  const url = "postgres://inspector:s3cret-pw@127.0.0.1:1/app";

  it("rejects bad commands, options and numbers with exit 2 before connecting", async () => {
    const cases: [string[], string | RegExp][] = [
      [[], "missing command"],
      [["vacuum"], 'unknown command "vacuum"'],
      [["locks", "--frobnicate"], "unknown option --frobnicate"],
      [
        ["long", "--min-seconds", "soon"],
        /--min-seconds must be a number of seconds >= 0, got "soon"/,
      ],
      [["long", "--min-seconds", "-1"], "--min-seconds needs a value that is not negative"],
      [["long", "--min-seconds"], "--min-seconds needs a value"],
      [["cache", "--limit", "0"], /--limit must be a whole number >= 1, got "0"/],
      [["top", "--limit", "2.5"], /--limit must be a whole number >= 1/],
      [["connections", "--min-seconds", "3"], "--min-seconds applies to long only"],
      [["locks", "extra"], 'unexpected argument "extra"'],
    ];
    // The URL points at a closed port: reaching it would fail with exit 1, not 2.
    const results = await Promise.all(
      cases.map(([args]) => runInspect(args, { DATABASE_URL: url })),
    );
    results.forEach((result, index) => {
      expectUsageExit(result, cases[index]?.[1] ?? "");
    });
  });

  it("says it needs a real server when DATABASE_URL is unset", async () => {
    expectUsageExit(
      await runInspect(["connections"], {}),
      "db:inspect: needs a real PostgreSQL server: set DATABASE_URL",
    );
  });

  it("--help prints the usage and exits 0", async () => {
    const result = await runInspect(["--help"], {});
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("exit codes: 0 ok, 1 failed");
  });

  it("a failed connection is one line and exit 1, without the password", async () => {
    const result = await runInspect(["connections"], { DATABASE_URL: url });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^db:inspect: .*ECONNREFUSED/);
    expect(result.stderr + result.stdout).not.toContain("s3cret-pw");
  });
});

describe.skipIf(!onRealServer())(`db:inspect top and cache (${NEEDS_SERVER})`, () => {
  it("top: exit 2 with what to do when pg_stat_statements is missing, unloaded or unreadable", async () => {
    const db = await createScratchDatabase();
    expectUsageExit(
      await runInspect(["top"], { DATABASE_URL: db.url }),
      "pg_stat_statements is not installed in this database",
    );

    const admin = await openSession(db.url, `inspect-admin-${unique()}`);
    await admin.sql`create extension pg_stat_statements`;
    const [settings] = await admin.sql<{ loaded: boolean }[]>`
      select current_setting('shared_preload_libraries') ~ 'pg_stat_statements' as loaded`;
    await admin.sql`select count(*) from pg_class where relname = 'pg_stat_statements'`;
    const top = await runInspect(["top", "--json", "--limit", "50"], { DATABASE_URL: db.url });
    if (settings?.loaded) {
      expect(top.code, top.stderr).toBe(0);
      const { statements } = JSON.parse(top.stdout) as { statements: { query: string }[] };
      expect(statements.map((s) => s.query)).toContainEqual(
        expect.stringContaining("from pg_class where relname"),
      );
    } else {
      expectUsageExit(
        top,
        "pg_stat_statements is installed but not loaded: add it to shared_preload_libraries",
      );
    }

    // A role that may not read the view: the password in its URL must not be printed either.
    const role = `test_insp_role_${unique()}`;
    const password = `pw-${unique()}`;
    const adminUrl = new URL(db.url);
    await admin.sql.unsafe(`create role "${role}" login password '${password}'`);
    onCleanup(() =>
      withAdmin(adminUrl.toString(), (sql) => sql.unsafe(`drop role if exists "${role}"`)),
    );
    await admin.sql`revoke all on pg_stat_statements from public`;
    const roleUrl = new URL(db.url);
    roleUrl.username = role;
    roleUrl.password = password;
    const denied = await runInspect(["top"], { DATABASE_URL: roleUrl.toString() });
    expectUsageExit(denied, "no permission to read pg_stat_statements");
    expect(denied.stderr + denied.stdout).not.toContain(password);
  });

  it("cache lists a table and its index with sizes and hit ratios", async () => {
    const db = await createScratchDatabase();
    const session = await openSession(db.url, `inspect-cache-${unique()}`);
    await session.sql`create table readings (id int primary key, payload text not null)`;
    await session.sql`
      insert into readings select n, repeat('x', 200) from generate_series(1, 5000) as n`;
    await session.sql`select count(*) from readings where id between 10 and 20`;
    await session.sql`select sum(length(payload)) from readings`;
    // A backend flushes its I/O counters to the shared statistics when idle, at most once a
    // second: wait until they arrive instead of guessing a delay.
    await waitFor(async () => {
      const rows = await session.sql`
        select 1 from pg_statio_user_tables where relname = 'readings' and heap_blks_hit > 0`;
      return rows.length === 1;
    }, "the table's statistics");

    const json = await runInspect(["cache", "--json"], { DATABASE_URL: db.url });
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as {
      tables: { table: string; tableBytes: number; indexBytes: number; tableHitRatio: number }[];
      indexes: { index: string; table: string; bytes: number }[];
    };
    const table = report.tables.find((row) => row.table === "readings");
    // 5,000 rows of ~230 bytes: well over 1 MB on 8 kB pages.
    expect(table?.tableBytes).toBeGreaterThan(1_000_000);
    expect(table?.indexBytes).toBeGreaterThan(0);
    expect(table?.tableHitRatio).toBeGreaterThan(0);
    expect(report.indexes).toContainEqual(
      expect.objectContaining({ index: "readings_pkey", table: "readings" }),
    );

    const text = await runInspect(["cache"], { DATABASE_URL: db.url });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^public\.readings\s+1\.\d MB\s+\d+\.\d kB\s+\d+\.\d%/m);
  });
});
