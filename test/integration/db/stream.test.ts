import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { and, asc, count, eq, gt, like, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { bulkInsert } from "../../../src/db/bulk.js";
import type { Database } from "../../../src/db/client.js";
import { accounts, users } from "../../../src/db/schema/index.js";
import { streamQuery } from "../../../src/db/stream.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { useDatabaseOn, usePglite, userRows, within } from "./helpers.js";

const testDb = useTestDatabase();
/** A pool of one: a stream that didn't give its connection back would block the next query. */
const tinyPool = useDatabaseOn(() => testDb.url, {
  DATABASE_POOL_MAX: "1",
  DATABASE_POOL_TIMEOUT: "300",
});
const pglite = usePglite({ DATABASE_POOL_TIMEOUT: "300" });

async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

/** Query shapes whose streamed rows must equal `await query`. */
function streamContract(database: () => Database) {
  let tag = "";
  beforeAll(async () => {
    const rows = userRows(2_345, "stream");
    tag = rows[0]?.email.split("-0@")[0] ?? "";
    await bulkInsert(database().db, users, rows);
    const someUsers = await database()
      .db.select()
      .from(users)
      .where(like(users.email, `${tag}%`))
      .limit(100);
    await database()
      .db.insert(accounts)
      .values(someUsers.map((u, i) => ({ userId: u.id, currency: "EUR", balance: i })));
  });

  it.each([
    ["a plain select with parameters", 1_000],
    ["a plain select, batch larger than the result", 10_000],
    ["a plain select, batch of one", 1],
  ])("yields exactly the rows of the query: %s", async (_case, batchSize) => {
    const { db } = database();
    const query = db
      .select()
      .from(users)
      .where(like(users.email, `${tag}%`))
      .orderBy(asc(users.createdAt), asc(users.id));
    const streamed = await collect(streamQuery(db, query, { batchSize }));
    expect(streamed).toHaveLength(2_345);
    expect(streamed).toEqual(await query);
  });

  it("maps nested and partial selections, SQL fields and left joins like Drizzle does", async () => {
    const { db } = database();
    const query = db
      .select({
        id: users.id,
        profile: { email: users.email, name: users.name },
        since: users.createdAt,
        shout: sql<string>`upper(${users.name})`,
        emailLength: sql<number>`char_length(${users.email})`.mapWith(Number),
        account: accounts,
      })
      .from(users)
      .leftJoin(accounts, eq(accounts.userId, users.id))
      .where(and(like(users.email, `${tag}%`), gt(users.name, "User 1")))
      .orderBy(asc(users.id));
    const streamed = await collect(streamQuery(db, query, { batchSize: 100 }));
    const expected = await query;
    expect(streamed).toEqual(expected);
    expect(expected.some((row) => row.account === null)).toBe(true);
    expect(expected.some((row) => row.account !== null)).toBe(true);
  });

  it("reads inside the caller's transaction and closes its cursor on break", async () => {
    const { db } = database();
    await withTransaction(db, async (tx) => {
      const query = tx
        .select()
        .from(users)
        .where(like(users.email, `${tag}%`));
      let seen = 0;
      for await (const _row of streamQuery(tx, query, { batchSize: 10 })) {
        if (++seen === 25) break;
      }
      expect(seen).toBe(25);
      const [open] = await tx
        .select({ n: count() })
        .from(sql`pg_cursors`)
        .where(sql`name like 'stream_%'`);
      expect(open?.n).toBe(0);
    });
  });
}

/** Breaking out, or throwing, must end the stream's transaction and free its connection. */
function releaseContract(database: () => Database) {
  it("gives the connection back when the loop breaks or throws", async () => {
    const { db } = database();
    const query = db.select().from(users);
    for await (const _row of streamQuery(db, query, { batchSize: 5 })) break;
    // Pool of one (or PGlite's single connection): this would time out if the stream held it.
    await within(1_000, db.select({ n: count() }).from(users), "query after break");

    await expect(
      (async () => {
        for await (const _row of streamQuery(db, query, { batchSize: 5 })) {
          throw new Error("consumer failed");
        }
      })(),
    ).rejects.toThrow("consumer failed");
    await within(1_000, db.select({ n: count() }).from(users), "query after throw");
  });
}

describe("streamQuery on embedded PGlite", () => {
  streamContract(pglite);
  releaseContract(pglite);
});

describe.skipIf(!onRealServer())(`streamQuery on postgres.js (${NEEDS_SERVER})`, () => {
  streamContract(() => testDb.database);
  releaseContract(tinyPool);

  it("leaves no transaction open on the server after a break", async () => {
    const { db } = tinyPool();
    for await (const _row of streamQuery(db, db.select().from(users), { batchSize: 5 })) break;
    const [row] = await testDb.db
      .select({ n: count() })
      .from(sql`pg_stat_activity`)
      .where(sql`datname = current_database() and state like 'idle in transaction%'`);
    expect(row?.n).toBe(0);
  });

  it("streams 100,000 rows with bounded memory", async () => {
    const { db } = testDb;
    const load = userRows(100_000, "big");
    await bulkInsert(db, users, load);
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const liveHeap = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const tag = load[0]?.email.split("-0@")[0] ?? "";
    const query = db
      .select()
      .from(users)
      .where(like(users.email, `${tag}%`));

    const before = liveHeap();
    let rows = 0;
    let peak = before;
    for await (const _row of streamQuery(db, query, { batchSize: 1_000 })) {
      if (++rows % 20_000 === 0) peak = Math.max(peak, liveHeap());
    }
    const streamedGrowth = peak - before;
    expect(rows).toBe(100_000);

    // For scale: the same result materialised by `await query`.
    const base = liveHeap();
    const all = await query;
    const materialisedGrowth = liveHeap() - base;
    expect(all).toHaveLength(100_000);

    console.info(
      `[stream] live heap growth: streamed ${(streamedGrowth / 2 ** 20).toFixed(1)} MiB, ` +
        `materialised ${(materialisedGrowth / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(streamedGrowth).toBeLessThan(16 * 2 ** 20);
    expect(streamedGrowth * 5).toBeLessThan(materialisedGrowth);
  }, 120_000);
});
