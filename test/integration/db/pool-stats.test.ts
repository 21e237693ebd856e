/**
 * `database.poolStats()` and the events every listener sees (`database.listen`), provoked for
 * real: a pool drained by slow queries, a transaction holding PGlite's only connection, a query
 * prepared under a name, a failing statement.
 */
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Database } from "../../../src/db/client.js";
import { mapDatabaseError, PoolTimeoutError } from "../../../src/db/errors.js";
import type { PoolWaitEvent, QueryEvent, TransactionEvent } from "../../../src/db/events.js";
import { users } from "../../../src/db/schema/index.js";
import { preparedStatement } from "../../../src/db/statements.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { backendPid, sleep, useDatabaseOn, usePglite } from "./helpers.js";

const testDb = useTestDatabase();
const poolOfTwo = useDatabaseOn(() => testDb.url, {
  DATABASE_POOL_MAX: "2",
  DATABASE_PIPELINE: "2",
  DATABASE_POOL_TIMEOUT: "400",
});
const pglite = usePglite({ DATABASE_POOL_TIMEOUT: "300" });

const userByEmail = preparedStatement("stats_test_user_by_email", (db, name) =>
  db
    .select()
    .from(users)
    .where(eq(users.email, sql.placeholder("email")))
    .prepare(name),
);

/** Everything `database` reports while `work` runs. */
async function recording(database: Database, work: () => Promise<unknown>) {
  const queries: QueryEvent[] = [];
  const waits: PoolWaitEvent[] = [];
  const transactions: TransactionEvent[] = [];
  const stop = database.listen({
    query: (event) => queries.push(event),
    poolWait: (event) => waits.push(event),
    transaction: (event) => transactions.push(event),
  });
  try {
    await work();
  } finally {
    stop();
  }
  return { queries, waits, transactions };
}

function eventContract(database: () => Database) {
  it("names a prepared statement's queries by its name, others by their kind", async () => {
    const { db } = database();
    const { queries } = await recording(database(), async () => {
      await userByEmail(db).execute({ email: "nobody@example.com" });
      await db.insert(users).values({ email: `stats-${Date.now()}@example.com`, name: "S" });
    });
    expect(queries.map((q) => q.operation)).toEqual(["stats_test_user_by_email", "insert"]);
    expect(queries[1]).toMatchObject({ rows: 1, inTransaction: false });
    expect(queries.every((q) => q.durationMs >= 0 && q.startedAt > 0)).toBe(true);
  });

  it("reports a failed query with its error and a rolled-back transaction", async () => {
    const { db } = database();
    const { queries, transactions } = await recording(database(), async () => {
      await withTransaction(db, async (tx) => {
        await tx.execute(sql`select 1/0`);
      }).catch(() => undefined);
    });
    const failed = queries.find((q) => q.error !== undefined);
    expect(failed).toMatchObject({ operation: "select", inTransaction: true, rows: undefined });
    expect(mapDatabaseError(failed?.error)).toMatchObject({ code: "22012" });
    expect(transactions).toEqual([
      expect.objectContaining({ outcome: "rollback", savepoint: false }),
    ]);
  });

  it("keeps listening after a listener throws, and stops when removed", async () => {
    const { db } = database();
    let calls = 0;
    const stop = database().listen({
      query: () => {
        calls++;
        throw new Error("listener bug");
      },
    });
    await db.execute(sql`select 1`);
    await db.execute(sql`select 2`);
    stop();
    await db.execute(sql`select 3`);
    expect(calls).toBe(2);
  });
}

describe("pool statistics and events on PGlite", () => {
  eventContract(pglite);

  it("shows the single connection in use while a transaction holds it, and the waiter", async () => {
    const database = pglite();
    expect(database.poolStats()).toMatchObject({
      driver: "pglite",
      max: 1,
      open: 1,
      idle: 1,
      inUse: 0,
      waiting: 0,
    });
    await withTransaction(database.db, async () => {
      const waiter = database.db.execute(sql`select 1`).catch((e: unknown) => e);
      await sleep(50);
      expect(database.poolStats()).toMatchObject({ inUse: 1, idle: 0, waiting: 1 });
      expect(database.poolStats().longestWaitMs).toBeGreaterThanOrEqual(40);
      expect(mapDatabaseError(await waiter)).toBeInstanceOf(PoolTimeoutError);
    });
    expect(database.poolStats()).toMatchObject({ inUse: 0, waiting: 0, timeouts: 1 });
  });
});

describe.skipIf(!onRealServer())(
  `pool statistics and events on postgres.js (${NEEDS_SERVER})`,
  () => {
    eventContract(poolOfTwo);

    it("counts a drained pool: connections in use, callers waiting, waits and timeouts", async () => {
      const database = poolOfTwo();
      const before = database.poolStats();
      const { waits } = await recording(database, async () => {
        // Two connections, two queries each (DATABASE_PIPELINE=2): the fifth waits.
        const slow = [1, 2, 3, 4].map(() =>
          database.db.execute(sql`select pg_sleep(0.6)`).then(() => 0),
        );
        const waiting = database.db.execute(sql`select 'late'`).catch((e: unknown) => e);
        await sleep(200);
        expect(database.poolStats()).toMatchObject({
          driver: "postgres",
          max: 2,
          open: 2,
          idle: 0,
          inUse: 2,
          inFlight: 4,
          waiting: 1,
        });
        expect(database.poolStats().longestWaitMs).toBeGreaterThanOrEqual(150);
        expect(mapDatabaseError(await waiting)).toBeInstanceOf(PoolTimeoutError);
        await Promise.all(slow);
      });
      const after = database.poolStats();
      expect(after).toMatchObject({ inUse: 0, waiting: 0, idle: after.open });
      expect(after.timeouts - before.timeouts).toBe(1);
      expect(after.opened).toBeGreaterThanOrEqual(2);
      expect(waits.filter((w) => w.outcome === "timeout")).toHaveLength(1);
      expect(waits.find((w) => w.outcome === "timeout")?.waitMs).toBeGreaterThanOrEqual(390);
    });

    it("gives a transaction a connection of its own: queries wait in the gate, not in postgres.js", async () => {
      const database = poolOfTwo();
      const { db } = database;
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const pids: number[] = [];
      // Both connections held by transactions: postgres.js would queue a query with no bound.
      const transactions = [1, 2].map(() =>
        withTransaction(db, async (tx) => {
          pids.push(await backendPid(tx));
          await held;
        }),
      );
      await sleep(100);
      expect(database.poolStats()).toMatchObject({ inUse: 2, inFlight: 2 });
      const started = performance.now();
      const late = await db.execute(sql`select 'late'`).catch((e: unknown) => e);
      expect(mapDatabaseError(late)).toBeInstanceOf(PoolTimeoutError);
      expect(performance.now() - started).toBeLessThan(2_000);
      release();
      await Promise.all(transactions);
      expect(new Set(pids).size).toBe(2);
      // And a transaction waiting behind pipelined queries gets in once a connection is free.
      const queries = [1, 2, 3, 4].map(() => db.execute(sql`select pg_sleep(0.1)`));
      await expect(withTransaction(db, (tx) => tx.execute(sql`select 1`))).resolves.toBeDefined();
      await Promise.all(queries);
    });

    it("counts connections closed by the server", async () => {
      const database = poolOfTwo();
      // Both connections open: two queries at once.
      await Promise.all([1, 2].map(() => database.db.execute(sql`select pg_sleep(0.05)`).then()));
      const before = database.poolStats();
      await database.db.execute(
        sql`select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()
            and application_name = ${database.config.applicationName}`,
      );
      await sleep(100);
      const after = database.poolStats();
      expect(after.closed ?? 0).toBeGreaterThan(before.closed ?? 0);
      expect(after.open ?? 0).toBeLessThan(before.open ?? 0);
    });
  },
);
