import { createServer, type Server, Socket } from "node:net";
import { eq, sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, type Database } from "../../../src/db/client.js";
import {
  ConnectionError,
  mapDatabaseError,
  PoolTimeoutError,
  TransactionEndedError,
} from "../../../src/db/errors.js";
import { users } from "../../../src/db/schema/index.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { parseConfig } from "../../../src/env.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import {
  backendPid,
  barrier,
  sleep,
  useDatabaseOn,
  usePglite,
  userRows,
  within,
} from "./helpers.js";

// One query per connection (no pipelining: pool-stats.test.ts and the gate's unit tests cover
// it), so that a slow query holds a connection the way a transaction does.
const POOL = { DATABASE_POOL_MAX: "1", DATABASE_PIPELINE: "1", DATABASE_POOL_TIMEOUT: "300" };
/** The hint a pool timeout carries when every connection was held by a transaction. */
const heldByTransactions = (max: number) =>
  `every connection (${max}) is held by a transaction callback; a callback that queries ` +
  "through the root db instead of its tx waits for them forever";
const testDb = useTestDatabase(POOL);
const pglite = usePglite({ DATABASE_POOL_TIMEOUT: "300" });
const poolOfTwo = useDatabaseOn(() => testDb.url, {
  DATABASE_POOL_MAX: "2",
  DATABASE_PIPELINE: "1",
  DATABASE_POOL_TIMEOUT: "300",
});

/** The self-deadlock of porsager/postgres#893, on whichever driver `database` uses. */
function selfDeadlockCases(database: () => Database) {
  it("fails a root-db query inside a transaction callback with PoolTimeoutError within the bound", async () => {
    const { db } = database();
    const started = performance.now();
    const error = await withTransaction(db, async () => {
      // Wrong on purpose: `db` instead of the callback's tx, while the only connection is ours.
      await db.select().from(users).limit(1);
    }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect((error as PoolTimeoutError).hint).toBe(heldByTransactions(1));
    expect((error as PoolTimeoutError).message).toContain(heldByTransactions(1));
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2_000);
    // Nothing stays queued or leaked: the connection serves the next caller at once.
    await within(1_000, db.select().from(users).limit(1), "query after the timeout");
  });

  it("fails a transaction opened on the root db inside another one the same way", async () => {
    const { db } = database();
    const error = await db
      .transaction(async () => {
        await db.transaction(async (inner) => inner.select().from(users).limit(1));
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect((error as PoolTimeoutError).hint).toBe(heldByTransactions(1));
    await within(
      1_000,
      withTransaction(db, (tx) => tx.select().from(users).limit(1)),
      "next tx",
    );
  });

  it("refuses queries through a tx that has ended", async () => {
    const { db } = database();
    let leaked: Parameters<Parameters<typeof withTransaction>[1]>[0] | undefined;
    await withTransaction(db, async (tx) => {
      leaked = tx;
    });
    if (!leaked) throw new Error("no tx");
    const error = await leaked
      .select()
      .from(users)
      .limit(1)
      .catch((e: unknown) => e);
    expect(mapDatabaseError(error)).toBeInstanceOf(TransactionEndedError);
  });
}

describe("pool guard on embedded PGlite (one connection behind a mutex)", () => {
  selfDeadlockCases(pglite);
});

describe.skipIf(!onRealServer())(`pool guard on postgres.js, pool of one (${NEEDS_SERVER})`, () => {
  selfDeadlockCases(() => testDb.database);

  it("fails both sides of the self-deadlock on a pool of two", async () => {
    const { db } = poolOfTwo();
    const bothInside = barrier(2);
    const holdAndQueryRoot = () =>
      withTransaction(db, async (tx) => {
        await tx.select().from(users).limit(1);
        await bothInside(); // now both connections are held by transactions
        await db.select().from(users).limit(1);
      }).catch((e: unknown) => e);
    const started = performance.now();
    const [first, second] = await Promise.all([holdAndQueryRoot(), holdAndQueryRoot()]);
    expect(first).toBeInstanceOf(PoolTimeoutError);
    expect(second).toBeInstanceOf(PoolTimeoutError);
    expect((first as PoolTimeoutError).hint).toBe(heldByTransactions(2));
    expect((second as PoolTimeoutError).hint).toBe(heldByTransactions(2));
    expect(performance.now() - started).toBeLessThan(2_000);
    await within(1_000, db.select().from(users).limit(1), "query after both timed out");
  });

  it("gives no transaction hint when the connections are held by something else", async () => {
    const { db } = poolOfTwo();
    let inTransaction: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => {
      inTransaction = resolve;
    });
    const holdOne = withTransaction(db, async (tx) => {
      await tx.select().from(users).limit(1);
      inTransaction();
      await sleep(600);
    });
    await ready;
    // The other connection serves a slow query on the root db, outside any transaction.
    const slow = db.execute(sql`select pg_sleep(0.6)`).then(() => undefined);
    await sleep(50);
    try {
      const error = await db
        .select()
        .from(users)
        .limit(1)
        .catch((e: unknown) => e);
      expect(mapDatabaseError(error)).toBeInstanceOf(PoolTimeoutError);
      expect((mapDatabaseError(error) as PoolTimeoutError).hint).toBeUndefined();
    } finally {
      await slow;
      await holdOne;
    }
    await within(1_000, db.select().from(users).limit(1), "query after the release");
  });

  it("serves many concurrent queries through one connection without timing out", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () => testDb.db.execute(sql`select 1 as one`)),
    );
    expect(results).toHaveLength(50);
  });

  it("turns a killed backend into ConnectionError, and a stranded callback can't touch the next session", async () => {
    const admin = postgres(testDb.url ?? "", { max: 1, onnotice: () => undefined });
    try {
      let pid = 0;
      let inTransaction: () => void = () => undefined;
      const ready = new Promise<void>((resolve) => {
        inTransaction = resolve;
      });
      let strandedError: unknown;
      const [lost] = userRows(1, "lost");
      const killed = withTransaction(testDb.db, async (tx) => {
        pid = await backendPid(tx);
        inTransaction();
        await sleep(700); // still "in" the transaction when its backend is killed
        try {
          await tx.insert(users).values(lost as typeof users.$inferInsert);
        } catch (error) {
          strandedError = error;
          throw error;
        }
      }).catch((e: unknown) => e);
      await Promise.race([ready, killed]);
      await admin`select pg_terminate_backend(${pid})`;
      expect(await killed).toBeInstanceOf(ConnectionError);

      // The pool reconnects; another transaction now runs on the only connection while the
      // stranded callback wakes up and tries to write through its old tx.
      const [kept] = userRows(1, "kept");
      await withTransaction(testDb.db, async (tx) => {
        await tx.insert(users).values(kept as typeof users.$inferInsert);
        await sleep(900);
      });
      expect(mapDatabaseError(strandedError)).toBeInstanceOf(TransactionEndedError);
      const stored = await testDb.db
        .select({ email: users.email })
        .from(users)
        .where(eq(users.email, kept?.email ?? ""));
      expect(stored).toHaveLength(1); // not rolled back by a stray ROLLBACK
      const strays = await testDb.db
        .select()
        .from(users)
        .where(eq(users.email, lost?.email ?? ""));
      expect(strays).toHaveLength(0);
    } finally {
      await admin.end();
    }
  });

  it("turns a backend killed mid-query (outside a transaction) into ConnectionError", async () => {
    const admin = postgres(testDb.url ?? "", { max: 1, onnotice: () => undefined });
    try {
      const running = testDb.db
        .execute(sql`select pg_sleep(5) -- marker-kill-me`)
        .catch((e: unknown) => e);
      await sleep(200);
      await admin`select pg_terminate_backend(pid) from pg_stat_activity
                  where query like '%marker-kill-me%' and pid <> pg_backend_pid()`;
      const error = await within(3_000, running, "killed query");
      expect(mapDatabaseError(error)).toBeInstanceOf(ConnectionError);
      // postgres.js 3.4 keeps the killed query's FATAL and hands it to the first query of the
      // reconnected connection (docs/data-layer.md, "Driver quirks"): absorb it here so the
      // next test starts on a clean pool.
      const stale = await testDb.db.execute(sql`select 1`).catch((e: unknown) => e);
      if (stale instanceof Error) expect(mapDatabaseError(stale)).toBeInstanceOf(ConnectionError);
      await within(1_000, testDb.db.execute(sql`select 1`), "query after the kill");
    } finally {
      await admin.end();
    }
  });
});

/**
 * A TCP proxy to the test server that holds every new connection for `delayMs` (changeable)
 * before connecting it through: a server slow to accept connections.
 */
function slowProxy(target: URL) {
  const sockets = new Set<Socket>();
  const proxy = {
    delayMs: 0,
    url: "",
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.pause();
    setTimeout(() => {
      const upstream = new Socket();
      sockets.add(upstream);
      upstream.connect(Number(target.port || 5432), target.hostname, () => {
        client.pipe(upstream).pipe(client);
        client.resume();
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      upstream.on("error", close).on("close", close);
      client.on("error", close).on("close", close);
    }, proxy.delayMs);
  });
  return new Promise<typeof proxy>((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const url = new URL(target);
      url.hostname = "127.0.0.1";
      url.port = String(typeof address === "object" && address ? address.port : 0);
      proxy.url = url.toString();
      resolve(proxy);
    }),
  );
}

describe.skipIf(!onRealServer())(
  `pool guard with a server slow to connect (${NEEDS_SERVER})`,
  () => {
    let proxy: Awaited<ReturnType<typeof slowProxy>> | undefined;
    beforeAll(async () => {
      proxy = await slowProxy(new URL(testDb.url ?? ""));
    });
    afterAll(async () => {
      await proxy?.stop();
    });
    /** Its own pool of one through the proxy, closed after the test. */
    async function withSlowDatabase(
      test: (database: Database) => Promise<void>,
      settings: Record<string, string> = {},
    ) {
      if (!proxy) throw new Error("no proxy");
      const database = await createDatabase(
        parseConfig({ DATABASE_URL: proxy.url, NODE_ENV: "test", ...POOL, ...settings }).database,
      );
      try {
        await test(database);
      } finally {
        await database.close(0);
      }
    }

    it("bounds the opening of a connection by the connect timeout, then recovers", async () => {
      if (!proxy) throw new Error("no proxy");
      // A caller admitted by the pool gate waits for postgres.js to open its connection; that
      // wait is postgres.js's connect_timeout (DATABASE_CONNECT_TIMEOUT), not the pool timeout.
      proxy.delayMs = 2_500;
      await withSlowDatabase(
        async ({ db }) => {
          const started = performance.now();
          const error = await db.execute(sql`select 'first'`).catch((e: unknown) => e);
          expect(mapDatabaseError(error)).toBeInstanceOf(ConnectionError);
          expect(performance.now() - started).toBeLessThan(2_000);
          if (proxy) proxy.delayMs = 0;
          await within(1_000, db.execute(sql`select 'second'`), "query once the server answers");
        },
        { DATABASE_CONNECT_TIMEOUT: "1" },
      );
    });

    it("hands a waiting query the connection that replaces a killed holder's", async () => {
      if (!proxy) throw new Error("no proxy");
      proxy.delayMs = 0;
      await withSlowDatabase(async ({ db }) => {
        const admin = postgres(testDb.url ?? "", { max: 1, onnotice: () => undefined });
        try {
          let pid = 0;
          let inTransaction: () => void = () => undefined;
          const ready = new Promise<void>((resolve) => {
            inTransaction = resolve;
          });
          const holder = withTransaction(db, async (tx) => {
            pid = await backendPid(tx);
            inTransaction();
            await sleep(1_500);
          }).catch((e: unknown) => e);
          await Promise.race([ready, holder]);
          // Waiting behind the transaction (pool of one), with the 300 ms bound running ...
          const waiting = db.execute(sql`select 'waiting'`).catch((e: unknown) => e);
          await sleep(50);
          // ... when the transaction's connection dies: the gate admits the waiting query at
          // once, and postgres.js opens a new connection for it (now 800 ms through the proxy,
          // within connect_timeout).
          if (proxy) proxy.delayMs = 800;
          await admin`select pg_terminate_backend(${pid})`;
          expect(await waiting).toEqual([{ "?column?": "waiting" }]);
          expect(await holder).toBeInstanceOf(ConnectionError);
          await within(1_000, db.execute(sql`select 'after'`), "query after the reconnect");
        } finally {
          await admin.end();
        }
      });
    });
  },
);
