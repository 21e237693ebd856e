/**
 * The demo API with the result cache on a real Redis and PostgreSQL: GET /users/{id} and
 * GET /accounts/{id} read through it, and the writes that change those rows invalidate them
 * after their commit, never after a rollback. The concurrency test runs transfers and reads
 * through two app instances (each its own cache client and in-flight loads, as two processes
 * would have) and checks that no read returns a balance older than a transfer that had
 * already returned.
 */

import { sql } from "drizzle-orm";
import { testClient } from "hono/testing";
import { describe, expect, it } from "vitest";
import { cacheKey, invalidateAfterCommit, type ResultCache } from "../../../src/cache/index.js";
import { updateUser } from "../../../src/db/repositories/users.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { createApp } from "../../../src/http/app.js";
import { captureLogs, expectStatus } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";
import { DEAD_REDIS_URL, deferred, ready, requireRedis, useCaches, waitFor } from "./helpers.js";

const redis = await requireRedis();

describe.skipIf(!redis.available)(
  `API with the result cache${redis.available ? "" : ` (${redis.reason})`}`,
  () => {
    const testDb = useTestDatabase({ DATABASE_POOL_MAX: "10" });
    const caches = useCaches();
    const logs = captureLogs();

    /** An app instance with a cache of its own on the shared Redis (or on `url`). */
    async function instance(url?: string) {
      const opened = caches.open(logs.logger, url ? { url } : {});
      if (!url) await ready(opened.redis);
      const app = createApp({
        database: testDb.database,
        logger: logs.logger,
        cache: opened.cache,
      });
      return { client: testClient(app), cache: opened.cache };
    }
    type Client = Awaited<ReturnType<typeof instance>>["client"];

    let n = 0;
    async function newUser(client: Client) {
      const tag = `${Date.now()}-${n++}`;
      return expectStatus(
        client.users.$post({ json: { email: `cache-${tag}@example.com`, name: `U ${tag}` } }),
        201,
      );
    }
    async function newAccount(client: Client, userId: string, initialBalance: number) {
      const res = client.accounts.$post({ json: { userId, currency: "EUR", initialBalance } });
      return expectStatus(res, 201);
    }
    const getUser = (client: Client, id: string) => client.users[":id"].$get({ param: { id } });
    const balanceOf = async (client: Client, id: string) =>
      (await expectStatus(client.accounts[":id"].$get({ param: { id } }), 200)).balance;
    const transfer = (client: Client, fromAccountId: string, toAccountId: string, amount: number) =>
      client.transfers.$post({ json: { fromAccountId, toAccountId, amount }, header: {} });
    const userStats = (cache: ResultCache) => cache.stats().kinds.user;

    it("reads GET /users/{id} through the cache and drops it when PATCH commits", async () => {
      const { client, cache } = await instance();
      const user = await newUser(client);
      const before = userStats(cache);
      expect(await expectStatus(getUser(client, user.id), 200)).toEqual(user);
      expect(await expectStatus(getUser(client, user.id), 200)).toEqual(user);
      expect(userStats(cache).hits - before.hits).toBe(1);
      expect(userStats(cache).loads - before.loads).toBe(1);

      const patch = client.users[":id"].$patch({
        param: { id: user.id },
        json: { name: "Renamed" },
      });
      await expectStatus(patch, 200);
      expect(userStats(cache).invalidations - before.invalidations).toBe(1);
      expect((await expectStatus(getUser(client, user.id), 200)).name).toBe("Renamed");
    });

    it("drops a deleted user, so the next read is a 404", async () => {
      const { client } = await instance();
      const user = await newUser(client);
      await expectStatus(getUser(client, user.id), 200);
      await expectStatus(client.users[":id"].$delete({ param: { id: user.id } }), 204);
      await expectStatus(getUser(client, user.id), 404);
    });

    it("invalidates nothing when the write rolls back", async () => {
      const { client, cache } = await instance();
      const [user, other] = [await newUser(client), await newUser(client)];
      await expectStatus(getUser(client, user.id), 200);
      const before = userStats(cache);

      // A unique violation: the UPDATE fails, the transaction rolls back, no hook runs.
      const clash = client.users[":id"].$patch({
        param: { id: user.id },
        json: { email: other.email },
      });
      await expectStatus(clash, 409);
      // A write that changed the row, then failed: rolled back with it.
      await expect(
        invalidateAfterCommit(testDb.db, cache, [cacheKey.user(user.id)], async (tx) => {
          await updateUser(tx, user.id, { name: "never committed" });
          throw new Error("after the update");
        }),
      ).rejects.toThrow("after the update");

      expect(userStats(cache).invalidations).toBe(before.invalidations);
      expect(await expectStatus(getUser(client, user.id), 200)).toEqual(user);
      expect(userStats(cache).hits - before.hits).toBe(1);

      // Same for a transfer refused inside its transaction (insufficient funds).
      const [a, b] = [await newAccount(client, user.id, 5), await newAccount(client, user.id, 0)];
      await balanceOf(client, a.id);
      const accountsBefore = cache.stats().kinds.account.invalidations;
      await expectStatus(transfer(client, a.id, b.id, 10), 422);
      expect(cache.stats().kinds.account.invalidations).toBe(accountsBefore);
    });

    it("shows both balances of a committed transfer to the next read", async () => {
      const { client, cache } = await instance();
      const user = await newUser(client);
      const [a, b] = [await newAccount(client, user.id, 100), await newAccount(client, user.id, 0)];
      expect([await balanceOf(client, a.id), await balanceOf(client, b.id)]).toEqual([100, 0]);
      const hits = cache.stats().kinds.account.hits;
      expect([await balanceOf(client, a.id), await balanceOf(client, b.id)]).toEqual([100, 0]);
      expect(cache.stats().kinds.account.hits - hits).toBe(2);
      await expectStatus(transfer(client, a.id, b.id, 30), 201);
      expect([await balanceOf(client, a.id), await balanceOf(client, b.id)]).toEqual([70, 30]);
    });

    it("never returns a balance older than a transfer that has returned (two instances)", async () => {
      const writer = await instance();
      const reader = await instance();
      const user = await newUser(writer.client);
      const start = 1_000_000;
      const from = await newAccount(writer.client, user.id, start);
      const to = await newAccount(writer.client, user.id, 0);
      const transfers = 120;
      // Transfers only go from -> to, one unit each: `to` only grows, `from` only shrinks, so a
      // read that began after k transfers returned must see at least k of them.
      let returned = 0;
      let writing = true;
      const stale: string[] = [];
      const readLoop = async (client: Client) => {
        let reads = 0;
        while (writing || reads < 20) {
          const floor = returned;
          const [toBalance, fromBalance] = await Promise.all([
            balanceOf(client, to.id),
            balanceOf(client, from.id),
          ]);
          if (toBalance < floor || fromBalance > start - floor) {
            stale.push(`after ${floor} transfers: to=${toBalance}, from=${fromBalance}`);
          }
          reads++;
        }
        return reads;
      };
      const writeLoop = async (count: number) => {
        for (let i = 0; i < count; i++) {
          await expectStatus(transfer(writer.client, from.id, to.id, 1), 201);
          returned++;
        }
      };
      const readers = [
        ...Array.from({ length: 6 }, () => readLoop(reader.client)),
        ...Array.from({ length: 2 }, () => readLoop(writer.client)),
      ];
      await Promise.all(Array.from({ length: 6 }, () => writeLoop(transfers / 6)));
      writing = false;
      const reads = (await Promise.all(readers)).reduce((sum, r) => sum + r, 0);

      expect(stale).toEqual([]);
      expect(await balanceOf(reader.client, to.id)).toBe(transfers);
      expect(await balanceOf(reader.client, from.id)).toBe(start - transfers);
      // The cache was in the way all along: hits, and reads racing invalidations.
      const stats = reader.cache.stats().kinds.account;
      expect(reads).toBeGreaterThan(transfers);
      expect(stats.hits).toBeGreaterThan(0);
      expect(writer.cache.stats().kinds.account.invalidations).toBe(2 * transfers);
    });

    it("shares one database load among concurrent misses (stampede)", async () => {
      const { client, cache } = await instance();
      const user = await newUser(client);
      const before = userStats(cache);
      // The users table locked, the first load waits: every reader misses before it ends.
      const release = deferred<void>();
      const locked = deferred<void>();
      const holder = withTransaction(testDb.db, async (tx) => {
        await tx.execute(sql`lock table users in access exclusive mode`);
        locked.resolve();
        await release.promise;
      });
      await locked.promise;
      const reads = Array.from({ length: 40 }, () => expectStatus(getUser(client, user.id), 200));
      await waitFor(() => userStats(cache).misses - before.misses === 40);
      release.resolve();
      await holder;
      expect((await Promise.all(reads)).every((r) => r.id === user.id)).toBe(true);
      expect(userStats(cache).loads - before.loads).toBe(1);
    });

    it("serves reads and writes from the database while Redis is down", async () => {
      const { client, cache } = await instance(DEAD_REDIS_URL);
      const user = await newUser(client);
      expect(await expectStatus(getUser(client, user.id), 200)).toEqual(user);
      const patch = client.users[":id"].$patch({ param: { id: user.id }, json: { name: "Down" } });
      await expectStatus(patch, 200);
      expect((await expectStatus(getUser(client, user.id), 200)).name).toBe("Down");
      const account = await newAccount(client, user.id, 10);
      const other = await newAccount(client, user.id, 0);
      await expectStatus(transfer(client, account.id, other.id, 4), 201);
      expect(await balanceOf(client, account.id)).toBe(6);
      expect(userStats(cache).bypasses).toBe(2);
      expect(cache.stats().errors.invalidate).toBeGreaterThanOrEqual(3);
    });
  },
);
