/**
 * The contract's concurrency invariants, provoked for real: many transfers racing over few
 * accounts, and idempotent replays racing each other.
 */
import { describe, expect, it } from "vitest";
import { createTestApp } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const testDb = useTestDatabase({ DATABASE_POOL_MAX: "10" });
const api = () => createTestApp(testDb.database).json;

async function openAccounts(count: number, balance: number, currency: string) {
  const user = (
    await api()("POST", "/users", {
      email: `conc-${currency}-${Date.now()}@example.com`,
      name: "C",
    })
  ).body;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await api()("POST", "/accounts", {
      userId: user.id,
      currency,
      initialBalance: balance,
    });
    ids.push(res.body.id);
  }
  return ids;
}

async function balances(ids: string[]) {
  return Promise.all(
    ids.map(async (id) => (await api()("GET", `/accounts/${id}`)).body.balance as number),
  );
}

describe("concurrent transfers", () => {
  it("keep totals, never go negative, and store exactly one transfer per 201", async () => {
    const accounts = await openAccounts(10, 1_000, "CHF");
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const requests = Array.from({ length: 200 }, () => {
      const from = rand(10);
      const to = (from + 1 + rand(9)) % 10;
      // Amounts large enough that some transfers must fail for insufficient funds.
      return { fromAccountId: accounts[from], toAccountId: accounts[to], amount: 1 + rand(400) };
    });

    const results = await Promise.all(requests.map((body) => api()("POST", "/transfers", body)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s !== 201 && s !== 422)).toEqual([]);
    expect(
      results.filter((r) => r.status === 422).every((r) => r.body.code === "insufficient_funds"),
    ).toBe(true);

    const after = await balances(accounts);
    expect(after.every((b) => b >= 0)).toBe(true);
    expect(after.reduce((a, b) => a + b, 0)).toBe(10 * 1_000);

    // Every 201 is stored exactly once, and nothing else is.
    const created = results.filter((r) => r.status === 201).map((r) => r.body.id as string);
    expect(new Set(created).size).toBe(created.length);
    const stored = new Set<string>();
    for (const id of accounts) {
      let cursor: string | null = null;
      do {
        const page = await api()(
          "GET",
          `/accounts/${id}/transfers?limit=100${cursor ? `&cursor=${cursor}` : ""}`,
        );
        for (const t of page.body.items) stored.add(t.id);
        cursor = page.body.nextCursor;
      } while (cursor);
    }
    expect([...stored].sort()).toEqual([...created].sort());

    // Replaying the ledger from the initial balances gives the final balances.
    const expected = new Map(accounts.map((id) => [id, 1_000]));
    for (const r of results.filter((x) => x.status === 201)) {
      expected.set(r.body.fromAccountId, (expected.get(r.body.fromAccountId) ?? 0) - r.body.amount);
      expected.set(r.body.toAccountId, (expected.get(r.body.toAccountId) ?? 0) + r.body.amount);
    }
    expect(after).toEqual(accounts.map((id) => expected.get(id)));
  });

  it("apply concurrent idempotent replays exactly once", async () => {
    const [from, to] = await openAccounts(2, 10_000, "SEK");
    const key = `replay-${Date.now()}`;
    const body = { fromAccountId: from, toAccountId: to, amount: 700 };
    const results = await Promise.all(
      Array.from({ length: 25 }, () =>
        api()("POST", "/transfers", body, { "idempotency-key": key }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(25).fill(201));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(await balances([from as string, to as string])).toEqual([9_300, 10_700]);
  });

  it("reject concurrent reuse of a key with different bodies without double-spending", async () => {
    const [from, to] = await openAccounts(2, 10_000, "NOK");
    const key = `reuse-${Date.now()}`;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api()(
          "POST",
          "/transfers",
          { fromAccountId: from, toAccountId: to, amount: 100 + i },
          { "idempotency-key": key },
        ),
      ),
    );
    const created = results.filter((r) => r.status === 201);
    const conflicts = results.filter((r) => r.status === 409);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    expect(created.length + conflicts.length).toBe(10);
    expect(conflicts.every((r) => r.body.code === "idempotency_key_reused")).toBe(true);
    const moved = created[0]?.body.amount as number;
    expect(await balances([from as string, to as string])).toEqual([
      10_000 - moved,
      10_000 + moved,
    ]);
  });

  it("lets opposite transfers between the same two accounts all succeed (no deadlock surfaces)", async () => {
    const [a, b] = await openAccounts(2, 100_000, "DKK");
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        api()(
          "POST",
          "/transfers",
          i % 2
            ? { fromAccountId: a, toAccountId: b, amount: 3 }
            : { fromAccountId: b, toAccountId: a, amount: 5 },
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(60).fill(201));
    expect(await balances([a as string, b as string])).toEqual([
      100_000 + 30 * 5 - 30 * 3,
      100_000 - 30 * 5 + 30 * 3,
    ]);
  });
});
