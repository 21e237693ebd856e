import { eq, inArray, sql, sum } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  CheckViolationError,
  DatabaseTimeoutError,
  DeadlockError,
  mapDatabaseError,
  SerializationFailureError,
  TransactionEndedError,
  UniqueViolationError,
} from "../../../src/db/errors.js";
import { accounts, users } from "../../../src/db/schema/index.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { barrier, sleep, userRows, within } from "./helpers.js";

const testDb = useTestDatabase();
const db = () => testDb.db;

/** A user with two EUR accounts holding `balance` each. */
async function twoAccounts(balance: number) {
  const [user] = await db().insert(users).values(userRows(1, "tx")).returning();
  if (!user) throw new Error("no user");
  const rows = await db()
    .insert(accounts)
    .values([
      { userId: user.id, currency: "EUR", balance },
      { userId: user.id, currency: "EUR", balance },
    ])
    .returning();
  const [a, b] = rows;
  if (!a || !b) throw new Error("no accounts");
  return { user, a: a.id, b: b.id };
}

const add = (id: string, amount: number) =>
  sql`update ${accounts} set ${sql.identifier(accounts.balance.name)} = ${accounts.balance} + ${amount} where ${accounts.id} = ${id}`;

describe("withTransaction: savepoints, hooks, errors (both drivers)", () => {
  it("rolls back only a failed nested call and keeps the outer writes", async () => {
    const [outer1, inner, outer2] = userRows(3, "sp");
    await withTransaction(db(), async (tx) => {
      await tx.insert(users).values(outer1 as typeof users.$inferInsert);
      await expect(
        withTransaction(tx, async (sp) => {
          await sp.insert(users).values(inner as typeof users.$inferInsert);
          throw new Error("inner part fails");
        }),
      ).rejects.toThrow("inner part fails");
      // A database error inside a savepoint doesn't abort the outer transaction either.
      await expect(
        withTransaction(tx, (sp) => sp.insert(users).values(outer1 as typeof users.$inferInsert)),
      ).rejects.toBeInstanceOf(UniqueViolationError);
      await tx.insert(users).values(outer2 as typeof users.$inferInsert);
    });
    const emails = [outer1, inner, outer2].map((u) => u?.email ?? "");
    const stored = await db().select().from(users).where(inArray(users.email, emails));
    expect(stored.map((u) => u.email).sort()).toEqual([outer1?.email, outer2?.email].sort());
  });

  it("runs afterCommit only after the commit, afterRollback only after a rollback", async () => {
    const events: string[] = [];
    await withTransaction(db(), async (tx, { afterCommit, afterRollback }) => {
      afterCommit(() => events.push("commit:outer"));
      afterRollback(() => events.push("rollback:outer"));
      await withTransaction(tx, async (_sp, inner) => {
        inner.afterCommit(() => events.push("commit:released-savepoint"));
      });
      await withTransaction(tx, async (_sp, inner) => {
        inner.afterCommit(() => events.push("commit:failed-savepoint"));
        inner.afterRollback(() => events.push("rollback:failed-savepoint"));
        throw new Error("no");
      }).catch(() => undefined);
      expect(events).toEqual(["rollback:failed-savepoint"]); // nothing committed yet
    });
    expect(events).toEqual([
      "rollback:failed-savepoint",
      "commit:outer",
      "commit:released-savepoint",
    ]);

    events.length = 0;
    await expect(
      withTransaction(db(), async (tx, { afterCommit, afterRollback }) => {
        afterCommit(() => events.push("commit"));
        afterRollback(() => events.push("rollback"));
        await tx.insert(users).values(userRows(1, "hook"));
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(events).toEqual(["rollback"]);
  });

  it("does not retry a non-retryable error, and throws it typed", async () => {
    const { a } = await twoAccounts(10);
    let attempts = 0;
    await expect(
      withTransaction(db(), async (tx) => {
        attempts++;
        await tx.execute(add(a, -1_000)); // accounts_balance_non_negative
      }),
    ).rejects.toBeInstanceOf(CheckViolationError);
    expect(attempts).toBe(1);

    attempts = 0;
    await expect(
      withTransaction(db(), async () => {
        attempts++;
        throw new Error("application error");
      }),
    ).rejects.toThrow("application error");
    expect(attempts).toBe(1);
  });

  it("refuses transaction characteristics on a nested call", async () => {
    await withTransaction(db(), async (tx) => {
      await expect(
        withTransaction(tx, async () => undefined, { isolationLevel: "serializable" }),
      ).rejects.toThrow(TypeError);
      await expect(
        withTransaction(tx, async () => undefined, { statementTimeoutMs: 10 }),
      ).rejects.toThrow(TypeError);
    });
  });
});

describe.skipIf(!onRealServer())(`withTransaction under real concurrency (${NEEDS_SERVER})`, () => {
  it("retries the victim of a real deadlock, and both transfers land exactly once", async () => {
    const { a, b } = await twoAccounts(100);
    const bothHoldOneLock = barrier(2);
    const attempts = { ab: 0, ba: 0 };
    const committedHooks: string[] = [];
    const transfer = (name: "ab" | "ba", first: string, second: string) =>
      withTransaction(
        db(),
        async (tx, { attempt, afterCommit }) => {
          attempts[name]++;
          afterCommit(() => committedHooks.push(`${name}#${attempt}`));
          await tx.execute(add(first, -10));
          // Only the first attempts meet here: each holds one row lock and wants the other's.
          if (attempt === 1) await bothHoldOneLock();
          await tx.execute(add(second, 10));
        },
        { baseDelayMs: 5 },
      );

    await Promise.all([transfer("ab", a, b), transfer("ba", b, a)]);

    expect(attempts.ab + attempts.ba).toBe(3); // PostgreSQL aborted exactly one of them
    const [victim] = Object.entries(attempts).find(([, n]) => n === 2) ?? [];
    expect(committedHooks.sort()).toEqual(
      [`${victim}#2`, victim === "ab" ? "ba#1" : "ab#1"].sort(),
    ); // never the hook of the aborted attempt
    const balances = await db()
      .select()
      .from(accounts)
      .where(inArray(accounts.id, [a, b]));
    expect(balances.map((r) => r.balance)).toEqual([100, 100]);
  });

  it("surfaces DeadlockError once the attempts are used up", async () => {
    const { a, b } = await twoAccounts(100);
    const meet = barrier(2);
    const lockBoth = (first: string, second: string) =>
      withTransaction(
        db(),
        async (tx) => {
          await tx.execute(add(first, -1));
          await meet();
          await tx.execute(add(second, 1));
        },
        { maxAttempts: 1 },
      );
    const results = await Promise.allSettled([lockBoth(a, b), lockBoth(b, a)]);
    const rejected = results.filter((r) => r.status === "rejected");
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toBeInstanceOf(DeadlockError);
  });

  it("retries a SERIALIZABLE write skew to a correct result", async () => {
    // Rule: the user's total must stay >= 100. Each transaction checks the total, then
    // withdraws 100 from its own account. Interleaved, both checks pass (200): write skew.
    const { user, a, b } = await twoAccounts(100);
    const bothChecked = barrier(2);
    const attempts: number[] = [];
    const retried: unknown[] = [];
    const withdraw = (account: string) =>
      withTransaction(
        db(),
        async (tx, { attempt }) => {
          attempts.push(attempt);
          const [row] = await tx
            .select({ total: sum(accounts.balance).mapWith(Number) })
            .from(accounts)
            .where(eq(accounts.userId, user.id));
          if (attempt === 1) await bothChecked();
          if ((row?.total ?? 0) - 100 < 100) return "refused";
          await tx.execute(add(account, -100));
          return "withdrawn";
        },
        {
          isolationLevel: "serializable",
          baseDelayMs: 5,
          onRetry: (error) => retried.push(error),
        },
      );

    const outcomes = await Promise.all([withdraw(a), withdraw(b)]);

    expect(outcomes.sort()).toEqual(["refused", "withdrawn"]);
    expect(retried).toHaveLength(1);
    expect(retried[0]).toBeInstanceOf(SerializationFailureError);
    expect(attempts.sort()).toEqual([1, 1, 2]);
    const [row] = await db()
      .select({ total: sum(accounts.balance).mapWith(Number) })
      .from(accounts)
      .where(eq(accounts.userId, user.id));
    expect(row?.total).toBe(100);
  });

  it("fires statement_timeout as a typed timeout", async () => {
    const started = performance.now();
    const error = await withTransaction(db(), (tx) => tx.execute(sql`select pg_sleep(2)`), {
      statementTimeoutMs: 100,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseTimeoutError);
    expect(error).toMatchObject({ kind: "statement", code: "57014" });
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it("fires lock_timeout as a typed timeout while another transaction holds the row", async () => {
    const { a } = await twoAccounts(100);
    let release: () => void = () => undefined;
    const holding = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked: () => void = () => undefined;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = withTransaction(db(), async (tx) => {
      await tx.execute(add(a, 1));
      locked();
      await holding;
    });
    await isLocked;
    const error = await withTransaction(db(), (tx) => tx.execute(add(a, 1)), {
      lockTimeoutMs: 100,
    }).catch((e: unknown) => e);
    release();
    await holder;
    expect(error).toBeInstanceOf(DatabaseTimeoutError);
    expect(error).toMatchObject({ kind: "lock", code: "55P03" });
  });

  it("reports idle_in_transaction_session_timeout as a typed timeout, not a lost connection", async () => {
    const error = await withTransaction(
      db(),
      async (tx) => {
        await tx.execute(sql`select 1`);
        await sleep(600); // e.g. an HTTP call made while holding the transaction
        await tx.execute(sql`select 1`);
      },
      { idleInTransactionTimeoutMs: 200 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseTimeoutError);
    expect(error).toMatchObject({ kind: "idle_in_transaction", code: "25P03" });
    // The pool replaced the closed connection.
    await expect(db().execute(sql`select 1`)).resolves.toBeDefined();
  });

  it("reports the idle timeout as typed when it fires inside a savepoint", async () => {
    let strandedQueryFailed: (error: unknown) => void = () => undefined;
    const strandedError = new Promise<unknown>((resolve) => {
      strandedQueryFailed = resolve;
    });
    const error = await withTransaction(
      db(),
      (tx) =>
        withTransaction(tx, async (sp) => {
          await sp.execute(sql`select 1`);
          await sleep(600);
          await sp.execute(sql`select 1`).catch((e: unknown) => {
            strandedQueryFailed(e);
            throw e;
          });
        }),
      { idleInTransactionTimeoutMs: 200 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseTimeoutError);
    expect(error).toMatchObject({ kind: "idle_in_transaction", code: "25P03" });
    // The savepoint's callback wakes up after its connection is gone: its query is refused, not
    // written to a closed socket.
    const stranded = await within(2_000, strandedError, "the stranded savepoint's query");
    expect(mapDatabaseError(stranded)).toBeInstanceOf(TransactionEndedError);
    await expect(db().execute(sql`select 1`)).resolves.toBeDefined();
  });
});
