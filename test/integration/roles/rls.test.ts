/**
 * Row-level security through `withActor`: an actor sees and changes only its user's accounts
 * and transfers, a transaction that forgets the actor sees nothing, and no identity outlives its
 * transaction on a pooled connection, even with many actors interleaved on a small pool.
 *
 * `withActor` switches to the NOLOGIN actor role, which is no superuser, so the policies hold
 * even on a superuser's session: these run on PGlite and on the server's `postgres` login. The
 * last block repeats them over the app role `db:roles` makes, which needs a real server.
 */
import { randomBytes } from "node:crypto";
import { eq, inArray, or, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { withActor } from "../../../src/db/actor.js";
import type { AppDatabase, Database } from "../../../src/db/client.js";
import { accounts, transfers, users } from "../../../src/db/schema/index.js";
import { withTransaction } from "../../../src/db/transaction.js";
import type { RoleNames } from "../../../src/roles/names.js";
import {
  createTestDatabase,
  NEEDS_SERVER,
  onRealServer,
  type TestDatabase,
  useTestDatabase,
} from "../../setup/test-database.js";
import { connectAs, createRoles, dropRoles, sqlstate, uniquePrefix } from "./helpers.js";

interface Ledger {
  users: { id: string; accounts: string[] }[];
  /** Transfers by name: a1 -> a2 (Alice's own), b1 -> a1 (between them), b1 -> b2 (Bob's own). */
  transfers: Record<"alice" | "between" | "bob", string>;
}

/** Two users with two accounts each, three transfers; plus `extra` users with two accounts. */
async function seedLedger(db: AppDatabase, extra = 0): Promise<Ledger> {
  const tag = randomBytes(4).toString("hex");
  const people = await db
    .insert(users)
    .values(
      Array.from({ length: 2 + extra }, (_, i) => ({
        email: `rls-${tag}-${i}@example.com`,
        name: `User ${i}`,
      })),
    )
    .returning();
  const ledger: Ledger = { users: [], transfers: { alice: "", between: "", bob: "" } };
  for (const person of people) {
    const owned = await db
      .insert(accounts)
      .values([
        { userId: person.id, currency: "EUR", balance: 100 },
        { userId: person.id, currency: "EUR", balance: 0 },
      ])
      .returning();
    ledger.users.push({ id: person.id, accounts: owned.map((a) => a.id) });
  }
  const [a1, a2] = ledger.users[0]?.accounts ?? [];
  const [b1, b2] = ledger.users[1]?.accounts ?? [];
  const move = async (from = "", to = "") => {
    const [row] = await db
      .insert(transfers)
      .values({ fromAccountId: from, toAccountId: to, amount: 1, currency: "EUR" })
      .returning();
    return row?.id ?? "";
  };
  ledger.transfers = {
    alice: await move(a1, a2),
    between: await move(b1, a1),
    bob: await move(b1, b2),
  };
  return ledger;
}

/** Rows of `db.execute` on either driver (postgres.js: an array; PGlite: `{ rows }`). */
const rowsOf = <T>(result: unknown): T[] =>
  Array.isArray(result) ? (result as T[]) : ((result as { rows: T[] }).rows ?? []);

const sorted = (ids: string[]) => [...ids].sort();

/** What every actor path promises; run on the file's database and on the app role's login. */
function actorContract(database: () => Database) {
  let ledger: Ledger;
  const db = () => database().db;
  const alice = () => ledger.users[0] as Ledger["users"][number];
  const bob = () => ledger.users[1] as Ledger["users"][number];
  beforeAll(async () => {
    ledger = await seedLedger(db());
  });

  it("shows an actor only its own accounts and the transfers that touch them", async () => {
    // What the service path, which sees every row, says is Alice's (other tests add to it).
    const hers = await db()
      .select({ id: accounts.id })
      .from(accounts)
      .where(eq(accounts.userId, alice().id));
    const herIds = hers.map((a) => a.id);
    const touching = await db()
      .select({ id: transfers.id })
      .from(transfers)
      .where(or(inArray(transfers.fromAccountId, herIds), inArray(transfers.toAccountId, herIds)));
    const seen = await withActor(db(), alice().id, async (tx) => ({
      accounts: await tx.select({ id: accounts.id }).from(accounts),
      bobs: await tx.select().from(accounts).where(inArray(accounts.id, bob().accounts)),
      transfers: await tx.select({ id: transfers.id }).from(transfers),
    }));
    expect(sorted(seen.accounts.map((a) => a.id))).toEqual(sorted(herIds));
    expect(seen.bobs).toEqual([]);
    expect(sorted(seen.transfers.map((t) => t.id))).toEqual(sorted(touching.map((t) => t.id)));
    expect(seen.transfers.map((t) => t.id)).toEqual(
      expect.arrayContaining([ledger.transfers.alice, ledger.transfers.between]),
    );
    expect(seen.transfers.map((t) => t.id)).not.toContain(ledger.transfers.bob);
    const bobs = await withActor(db(), bob().id, (tx) =>
      tx.select({ id: transfers.id }).from(transfers),
    );
    expect(sorted(bobs.map((t) => t.id))).toEqual(
      sorted([ledger.transfers.between, ledger.transfers.bob]),
    );
  });

  it("refuses an actor's writes to another user's rows", async () => {
    const [b1 = "", b2 = ""] = bob().accounts;
    const [a1 = ""] = alice().accounts;
    const asAlice = <T>(fn: Parameters<typeof withActor<T>>[2]) => withActor(db(), alice().id, fn);
    // Invisible rows can't be updated: nothing matches.
    expect(
      await asAlice((tx) =>
        tx.update(accounts).set({ balance: 0 }).where(eq(accounts.id, b1)).returning(),
      ),
    ).toEqual([]);
    // New or changed rows must pass the policy's check.
    expect(
      await sqlstate(
        asAlice((tx) => tx.insert(accounts).values({ userId: bob().id, currency: "EUR" })),
      ),
    ).toBe("42501");
    expect(
      await sqlstate(
        asAlice((tx) =>
          tx
            .insert(transfers)
            .values({ fromAccountId: b1, toAccountId: a1, amount: 1, currency: "EUR" }),
        ),
      ),
    ).toBe("42501");
    expect(
      await sqlstate(
        asAlice((tx) => tx.update(accounts).set({ userId: bob().id }).where(eq(accounts.id, a1))),
      ),
    ).toBe("42501");
    // What the actor has no privilege on at all.
    expect(await sqlstate(asAlice((tx) => tx.delete(accounts).where(eq(accounts.id, a1))))).toBe(
      "42501",
    );
    expect(await sqlstate(asAlice((tx) => tx.select().from(users)))).toBe("42501");
    const [untouched] = await db().select().from(accounts).where(eq(accounts.id, b2));
    expect(untouched?.userId).toBe(bob().id);
    const [stillBobs] = await db().select().from(accounts).where(eq(accounts.id, b1));
    expect(stillBobs?.balance).toBe(100);
  });

  it("lets an actor change its own rows", async () => {
    const [a1 = "", a2 = ""] = alice().accounts;
    const opened = await withActor(db(), alice().id, async (tx) => {
      const [account] = await tx
        .insert(accounts)
        .values({ userId: alice().id, currency: "USD" })
        .returning();
      await tx
        .insert(transfers)
        .values({ fromAccountId: a1, toAccountId: a2, amount: 1, currency: "EUR" });
      return account;
    });
    expect(opened?.userId).toBe(alice().id);
  });

  it("fails closed when a transaction takes the actor role but names no user", async () => {
    const seen = await withTransaction(db(), async (tx) => {
      await tx.execute(sql`select set_config('role', 'ledger_actor', true)`);
      const none = await tx.select().from(accounts);
      await tx.execute(sql`select set_config('app.user_id', '', true)`);
      return [...none, ...(await tx.select().from(transfers))];
    });
    expect(seen).toEqual([]);
  });

  it("leaves no role or user on the pooled connections after the transaction", async () => {
    await expect(
      withActor(db(), alice().id, async () => {
        throw new Error("the handler failed");
      }),
    ).rejects.toThrow("the handler failed");
    await withActor(db(), bob().id, (tx) => tx.select().from(accounts));
    const sessions = await Promise.all(
      Array.from({ length: 6 }, () =>
        db().execute(
          sql`select current_user = session_user as own_role, coalesce(current_setting('app.user_id', true), '') as actor`,
        ),
      ),
    );
    for (const result of sessions) {
      expect(rowsOf(result)).toEqual([{ own_role: true, actor: "" }]);
    }
    const everyone = await db().select({ id: accounts.id }).from(accounts);
    expect(everyone.map((a) => a.id)).toEqual(
      expect.arrayContaining([...alice().accounts, ...bob().accounts]),
    );
  });

  it("never shows an actor another user's rows with many actors interleaved on a small pool", async () => {
    const crowd = await seedLedger(db(), 10);
    const rounds = 10;
    const leaks: string[] = [];
    const act = async (user: Ledger["users"][number], round: number) => {
      const seen = await withActor(db(), user.id, async (tx) => {
        const mine = await tx.select().from(accounts);
        // Yield to the other actors mid-transaction.
        await tx.execute(sql`select pg_sleep(${(round % 3) / 1000})`);
        const theirs = await tx
          .select({ from: transfers.fromAccountId, to: transfers.toAccountId })
          .from(transfers);
        return { mine, theirs };
      });
      for (const account of seen.mine) {
        if (account.userId !== user.id) leaks.push(`${user.id} saw account ${account.id}`);
      }
      if (seen.mine.length < 2) leaks.push(`${user.id} saw ${seen.mine.length} of its accounts`);
      const own = new Set(seen.mine.map((a) => a.id));
      for (const t of seen.theirs) {
        if (!own.has(t.from) && !own.has(t.to)) leaks.push(`${user.id} saw a transfer of others`);
      }
    };
    // The service path, interleaved with the actors on the same pool, still sees everyone.
    const service = async () => {
      const all = await db().select({ userId: accounts.userId }).from(accounts);
      const owners = new Set(all.map((a) => a.userId));
      if (!crowd.users.every((u) => owners.has(u.id))) leaks.push("the service path lost rows");
    };
    await Promise.all(
      Array.from({ length: rounds }, (_, round) => [
        ...crowd.users.map((user) => act(user, round)),
        service(),
      ]).flat(),
    );
    expect(leaks).toEqual([]);
  });
}

describe("row-level security with withActor", () => {
  const testDb = useTestDatabase({ DATABASE_POOL_MAX: "3" });
  actorContract(() => testDb.database);

  it("refuses a transaction or a malformed user id", async () => {
    await expect(
      withTransaction(testDb.db, (tx) =>
        withActor(tx as unknown as AppDatabase, crypto.randomUUID(), async () => 1),
      ),
    ).rejects.toThrow(TypeError);
    await expect(withActor(testDb.db, "alice", async () => 1)).rejects.toThrow(TypeError);
  });
});

describe.skipIf(!onRealServer())(
  `row-level security over the app role's login (${NEEDS_SERVER})`,
  () => {
    let test: TestDatabase | undefined;
    let names: RoleNames | undefined;
    let app: Database | undefined;
    beforeAll(async () => {
      test = await createTestDatabase();
      names = await createRoles(test.url ?? "", uniquePrefix());
      app = await connectAs(test.url ?? "", names.app, { DATABASE_POOL_MAX: "3" });
    });
    afterAll(async () => {
      await app?.close();
      await test?.drop();
      if (names) await dropRoles(inject("testDatabase").adminUrl ?? "", names);
    });
    actorContract(() => app as Database);
  },
);
