import { count } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { buildSeedData, seed } from "../../seeds/index.js";
import { getStats } from "../../src/db/repositories/stats.js";
import { accounts, transfers, users } from "../../src/db/schema/index.js";
import { useTestDatabase } from "../setup/test-database.js";

const testDb = useTestDatabase();

describe("seed", () => {
  it("builds the same data for the same seed", () => {
    expect(buildSeedData({ users: 50, transfers: 100 })).toEqual(
      buildSeedData({ users: 50, transfers: 100 }),
    );
    expect(buildSeedData({ users: 50, seed: 1 }).users[0]?.id).not.toBe(
      buildSeedData({ users: 50, seed: 2 }).users[0]?.id,
    );
  });

  // One test, because it owns the file's database: it seeds, re-seeds and checks the result.
  it("loads ~1,000 users with accounts and transfers, consistently, and a re-run adds nothing", async () => {
    const first = await seed(testDb.db);
    expect(first.users).toBe(1_000);
    expect(first.accounts).toBeGreaterThanOrEqual(1_000);
    expect(first.transfers).toBeGreaterThan(100);

    const second = await seed(testDb.db);
    expect(second).toEqual({ users: 0, accounts: 0, transfers: 0 });

    const [u] = await testDb.db.select({ n: count() }).from(users);
    const [a] = await testDb.db.select({ n: count() }).from(accounts);
    const [t] = await testDb.db.select({ n: count() }).from(transfers);
    expect([u?.n, a?.n, t?.n]).toEqual([first.users, first.accounts, first.transfers]);

    const data = buildSeedData();
    const stats = await getStats(testDb.db);
    // Transfers move money between accounts of one currency, so each currency's total is what
    // the accounts hold; a seeded transfer that wasn't reflected would show up here.
    const expected = new Map<string, number>();
    for (const account of data.accounts) {
      expected.set(account.currency, (expected.get(account.currency) ?? 0) + account.balance);
    }
    for (const { currency, total } of stats.balances) expect(total).toBe(expected.get(currency));
    expect(data.accounts.every((account) => account.balance >= 0)).toBe(true);
  });
});
