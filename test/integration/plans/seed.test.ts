/**
 * `db:seed` at a chosen size: exact counts, money conserved, every account's history adding up
 * to its balance, a repeat that inserts nothing, a refusal to mix two ledgers, statistics ready
 * for the planner; and its command line and progress output.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { parseSeedArgs, UsageError } from "../../../seeds/args.js";
import { SeedMismatchError, type SeedProgress, seed } from "../../../seeds/index.js";
import { createLedger } from "../../../seeds/ledger.js";
import { createProgressReporter, formatProgress } from "../../../seeds/progress.js";
import { accounts, transfers } from "../../../src/db/schema/index.js";
import { useTestDatabase } from "../../setup/test-database.js";

const testDb = useTestDatabase();
const SIZE = { users: 300, transfers: 2_000, seed: 7 };

describe("seeding at a chosen size", () => {
  // One test: it owns the file's database, seeds it, then checks and re-seeds it.
  it("loads exactly, conserves money, repeats as a no-op and refuses another ledger", async () => {
    const progress: SeedProgress[] = [];
    const result = await seed(testDb.db, {
      ...SIZE,
      batchSize: 500,
      onProgress: (p) => progress.push(p),
    });
    const ledger = createLedger(SIZE);
    expect(result).toEqual({
      users: 300,
      accounts: ledger.accounts.length,
      transfers: 2_000,
    });

    // Progress: from 0 to the total, never backwards, batch by batch, tables in load order.
    const total = 300 + ledger.accounts.length + 2_000;
    expect(progress[0]).toEqual({ table: "users", rows: 0, total });
    expect(progress.at(-1)).toEqual({ table: "transfers", rows: total, total });
    expect(progress.map((p) => p.rows)).toEqual(
      [...progress.map((p) => p.rows)].sort((a, b) => a - b),
    );
    expect(progress.filter((p) => p.table === "transfers")).toHaveLength(4);

    // Each account's opening balance is its balance minus what came in plus what went out:
    // the generator's, and never negative.
    const opening = new Map(ledger.accounts.map((a) => [a.id, a.balance]));
    const moved = new Map<string, number>();
    for (const t of await testDb.db.select().from(transfers)) {
      moved.set(t.fromAccountId, (moved.get(t.fromAccountId) ?? 0) - t.amount);
      moved.set(t.toAccountId, (moved.get(t.toAccountId) ?? 0) + t.amount);
    }
    const stored = await testDb.db.select().from(accounts);
    expect(stored).toHaveLength(ledger.accounts.length);
    for (const account of stored) {
      expect(account.balance).toBeGreaterThanOrEqual(0);
      expect(account.balance - (moved.get(account.id) ?? 0)).toBe(opening.get(account.id));
    }
    // Hence each currency holds what its opening balances held.
    for (const currency of ["EUR", "USD", "GBP"]) {
      const [row] = await testDb.db
        .select({ total: sql<string>`sum(${accounts.balance})` })
        .from(accounts)
        .where(eq(accounts.currency, currency));
      const expected = ledger.accounts
        .filter((a) => a.currency === currency)
        .reduce((sum, a) => sum + a.balance, 0);
      expect(Number(row?.total ?? 0)).toBe(expected);
    }

    // Analyzed: the planner knows the table's size without a scan.
    const [stats] = await testDb.db
      .select({ rows: sql<number>`reltuples::float8` })
      .from(sql`pg_class`)
      .where(sql`relname = 'transfers'`);
    expect(Number(stats?.rows)).toBe(2_000);

    expect(await seed(testDb.db, SIZE)).toEqual({ users: 0, accounts: 0, transfers: 0 });
    await expect(seed(testDb.db, { ...SIZE, transfers: 2_001 })).rejects.toThrow(SeedMismatchError);
    await expect(seed(testDb.db, { ...SIZE, users: 301 })).rejects.toThrow(SeedMismatchError);
  });
});

describe("db:seed command line and progress (no database)", () => {
  it("reads sizes, keeps the demo data without options, rejects bad values", () => {
    expect(parseSeedArgs([])).toEqual({});
    expect(parseSeedArgs(["--users", "100000", "--transfers", "500000"])).toEqual({
      users: 100_000,
      transfers: 500_000,
    });
    expect(parseSeedArgs(["--transfers", "0", "--seed", "3", "--batch", "1000"])).toEqual({
      transfers: 0,
      seed: 3,
      batchSize: 1_000,
    });
    expect(parseSeedArgs(["--help"])).toBe("help");
    for (const [args, message] of [
      [["--users", "0"], '--users must be a whole number >= 1, got "0"'],
      [["--users", "1e5"], '--users must be a whole number >= 1, got "1e5"'],
      [["--users", "2000000"], "--users must be at most 1,000,000, got 2000000"],
      [["--transfers", "-5"], "--transfers needs a value that is not negative"],
      [["--rows", "5"], "unknown option --rows"],
      [["big"], 'unexpected argument "big"'],
    ] as const) {
      expect(() => parseSeedArgs(args), args.join(" ")).toThrow(UsageError);
      expect(() => parseSeedArgs(args), args.join(" ")).toThrow(message);
    }
  });

  it("shows rows, rate and ETA: one redrawn line on a terminal, spaced plain lines elsewhere", () => {
    const p = (rows: number, table: SeedProgress["table"] = "transfers") => ({
      table,
      rows,
      total: 600_000,
    });
    expect(formatProgress(p(150_000), 10_000)).toBe(
      "transfers  150,000 / 600,000 rows  25.0%  15,000 rows/s  ETA 30.0s",
    );
    expect(formatProgress(p(600_000), 40_000)).toBe(
      "transfers  600,000 / 600,000 rows  100.0%  15,000 rows/s  in 40.0s",
    );

    let clock = 0;
    const written: string[] = [];
    const terminal = createProgressReporter(
      { isTTY: true, write: (t) => written.push(t) },
      () => clock,
    );
    for (const rows of [0, 100, 200]) {
      clock += 50; // redrawn at most every 100 ms
      terminal.update(p(rows));
    }
    terminal.update(p(600_000));
    terminal.done();
    terminal.done();
    expect(written.map((t) => t.slice(0, 6))).toEqual([
      "\r\x1b[2Kt",
      "\r\x1b[2Kt",
      "\r\x1b[2Kt",
      "\n",
    ]);

    const log: string[] = [];
    const plain = createProgressReporter({ write: (t) => log.push(t) }, () => clock);
    for (let rows = 0; rows <= 500_000; rows += 100_000) {
      clock += 2_000; // a line at most every 5 s, and always the last
      plain.update(p(rows));
    }
    plain.update(p(600_000));
    plain.done();
    expect(log).toHaveLength(3);
    expect(log.every((line) => line.endsWith("\n") && !line.includes("\r"))).toBe(true);
  });

  it("exits 2 with the usage on a bad option, before touching a database", async () => {
    const root = fileURLToPath(new URL("../../../", import.meta.url));
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "src/cli/seed.ts", "--users", "x"],
        {
          cwd: root,
          env: { NODE_ENV: "test", DATABASE_URL: "postgres://u:pw@127.0.0.1:1/none" },
        },
      );
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on("close", (code) => resolve({ code, stderr }));
    });
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe(
      'db:seed: --users must be a whole number >= 1, got "x"',
    );
    expect(result.stderr).toContain("usage: npm run db:seed");
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
