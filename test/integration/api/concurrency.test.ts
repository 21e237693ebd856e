/**
 * The contract's concurrency invariants, provoked for real: many transfers racing over few
 * accounts, and idempotent replays racing each other.
 */
import { describe, expect, it } from "vitest";
import { expectStatus, useTestApp } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const testDb = useTestDatabase({ DATABASE_POOL_MAX: "10" });
const api = useTestApp(testDb);

async function openAccounts(count: number, balance: number, currency: string) {
  const user = await expectStatus(
    api.client.users.$post({
      json: { email: `conc-${currency}-${Date.now()}@example.com`, name: "C" },
    }),
    201,
  );
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = api.client.accounts.$post({
      json: { userId: user.id, currency, initialBalance: balance },
    });
    ids.push((await expectStatus(res, 201)).id);
  }
  return ids;
}

async function balances(ids: string[]) {
  return Promise.all(
    ids.map(
      async (id) =>
        (await expectStatus(api.client.accounts[":id"].$get({ param: { id } }), 200)).balance,
    ),
  );
}

/** A transfer's outcome, whatever its status: the transfer (201) or the problem's code. */
async function transfer(
  json: { fromAccountId: string; toAccountId: string; amount: number },
  idempotencyKey?: string,
) {
  const res = await api.client.transfers.$post({
    json,
    header: idempotencyKey === undefined ? {} : { "idempotency-key": idempotencyKey },
  });
  if (res.status === 201) return { status: res.status, transfer: await res.json() };
  return { status: res.status, code: (await res.json()).code };
}

describe("concurrent transfers", () => {
  it("keep totals, never go negative, and store exactly one transfer per 201", async () => {
    const accounts = await openAccounts(10, 1_000, "CHF");
    const account = (i: number) => accounts[i] as string;
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const requests = Array.from({ length: 200 }, () => {
      const from = rand(10);
      const to = (from + 1 + rand(9)) % 10;
      // Amounts large enough that some transfers must fail for insufficient funds.
      return { fromAccountId: account(from), toAccountId: account(to), amount: 1 + rand(400) };
    });

    const results = await Promise.all(requests.map((body) => transfer(body)));
    expect(results.filter((r) => r.status !== 201 && r.status !== 422)).toEqual([]);
    expect(
      results.filter((r) => r.status === 422).every((r) => r.code === "insufficient_funds"),
    ).toBe(true);

    const after = await balances(accounts);
    expect(after.every((b) => b >= 0)).toBe(true);
    expect(after.reduce((a, b) => a + b, 0)).toBe(10 * 1_000);

    // Every 201 is stored exactly once, and nothing else is.
    const transfers = results.flatMap((r) => (r.transfer ? [r.transfer] : []));
    const created = transfers.map((t) => t.id);
    expect(new Set(created).size).toBe(created.length);
    const stored = new Set<string>();
    for (const id of accounts) {
      let cursor: string | undefined;
      do {
        const page = await expectStatus(
          api.client.accounts[":id"].transfers.$get({
            param: { id },
            query: { limit: 100, cursor },
          }),
          200,
        );
        for (const t of page.items) stored.add(t.id);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
    expect([...stored].sort()).toEqual([...created].sort());

    // Replaying the ledger from the initial balances gives the final balances.
    const expected = new Map(accounts.map((id) => [id, 1_000]));
    for (const t of transfers) {
      expected.set(t.fromAccountId, (expected.get(t.fromAccountId) ?? 0) - t.amount);
      expected.set(t.toAccountId, (expected.get(t.toAccountId) ?? 0) + t.amount);
    }
    expect(after).toEqual(accounts.map((id) => expected.get(id)));
  });

  it("apply concurrent idempotent replays exactly once", async () => {
    const [from, to] = (await openAccounts(2, 10_000, "SEK")) as [string, string];
    const key = `replay-${Date.now()}`;
    const body = { fromAccountId: from, toAccountId: to, amount: 700 };
    const results = await Promise.all(Array.from({ length: 25 }, () => transfer(body, key)));
    expect(results.map((r) => r.status)).toEqual(Array(25).fill(201));
    expect(new Set(results.map((r) => r.transfer?.id)).size).toBe(1);
    expect(await balances([from, to])).toEqual([9_300, 10_700]);
  });

  it("reject concurrent reuse of a key with different bodies without double-spending", async () => {
    const [from, to] = (await openAccounts(2, 10_000, "NOK")) as [string, string];
    const key = `reuse-${Date.now()}`;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        transfer({ fromAccountId: from, toAccountId: to, amount: 100 + i }, key),
      ),
    );
    const created = results.flatMap((r) => (r.transfer ? [r.transfer] : []));
    const conflicts = results.filter((r) => r.status === 409);
    expect(new Set(created.map((t) => t.id)).size).toBe(1);
    expect(created.length + conflicts.length).toBe(10);
    expect(conflicts.every((r) => r.code === "idempotency_key_reused")).toBe(true);
    const moved = created[0]?.amount as number;
    expect(await balances([from, to])).toEqual([10_000 - moved, 10_000 + moved]);
  });

  it("lets opposite transfers between the same two accounts all succeed (no deadlock surfaces)", async () => {
    const [a, b] = (await openAccounts(2, 100_000, "DKK")) as [string, string];
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        transfer(
          i % 2
            ? { fromAccountId: a, toAccountId: b, amount: 3 }
            : { fromAccountId: b, toAccountId: a, amount: 5 },
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(60).fill(201));
    expect(await balances([a, b])).toEqual([100_000 + 30 * 5 - 30 * 3, 100_000 - 30 * 5 + 30 * 3]);
  });
});
