/**
 * The result cache on its own, against a real Redis: read-through, stampedes, the generation
 * fence that keeps a load older than an invalidation out of Redis, and Redis being down.
 */
import { describe, expect, it } from "vitest";
import { cacheKey } from "../../../src/cache/index.js";
import { parseConfig } from "../../../src/env.js";
import { METRICS } from "../../../src/observability/metric-names.js";
import { createMetrics } from "../../../src/observability/metrics.js";
import { captureLogs } from "../db/helpers.js";
import { fakeDatabase, parseMetrics, sampleValue } from "../observability/helpers.js";
import { DEAD_REDIS_URL, deferred, ready, requireRedis, useCaches, waitFor } from "./helpers.js";

const redis = await requireRedis();

describe.skipIf(!redis.available)(
  `result cache on Redis${redis.available ? "" : ` (${redis.reason})`}`,
  () => {
    const caches = useCaches();
    const logs = captureLogs("info");
    let next = 0;
    /** A key no other test uses. */
    const freshKey = () => cacheKey.user(`id-${next++}`);
    const openCache = async (options: Parameters<typeof caches.open>[1] = {}) => {
      const opened = caches.open(logs.logger, options);
      if (!options.url) await ready(opened.redis);
      return opened.cache;
    };

    it("loads on a miss, then serves the stored value without loading", async () => {
      const cache = await openCache();
      const key = freshKey();
      let loads = 0;
      const load = async () => ({ name: "Ada", loads: ++loads });
      expect(await cache.get(key, load)).toEqual({ name: "Ada", loads: 1 });
      expect(await cache.get(key, load)).toEqual({ name: "Ada", loads: 1 });
      expect(await cache.get(key, load)).toEqual({ name: "Ada", loads: 1 });
      expect(loads).toBe(1);
      expect(cache.stats().kinds.user).toMatchObject({ hits: 2, misses: 1, loads: 1 });
      expect(cache.stats().kinds.user.fillsStored).toBe(1);
    });

    it("doesn't cache a missing row, so a row created later is seen at once", async () => {
      const cache = await openCache();
      const key = freshKey();
      let row: { id: string } | undefined;
      expect(await cache.get(key, async () => row)).toBeUndefined();
      row = { id: key.id };
      expect(await cache.get(key, async () => row)).toEqual(row);
    });

    it("reloads after an invalidation; other instances see it too", async () => {
      const [one, two] = [await openCache(), await openCache()];
      const key = freshKey();
      let version = 1;
      const load = async () => ({ version });
      expect(await one.get(key, load)).toEqual({ version: 1 });
      expect(await two.get(key, load)).toEqual({ version: 1 });
      version = 2;
      await one.invalidate([key]);
      expect(await two.get(key, load)).toEqual({ version: 2 });
      expect(await one.get(key, load)).toEqual({ version: 2 });
      expect(one.stats().kinds.user.invalidations).toBe(1);
    });

    it("shares one load among concurrent misses of a key (stampede)", async () => {
      const cache = await openCache();
      const key = freshKey();
      const release = deferred<{ v: number }>();
      let loads = 0;
      const load = () => {
        loads++;
        return release.promise;
      };
      const readers = Array.from({ length: 50 }, () => cache.get(key, load));
      await waitFor(() => loads > 0);
      release.resolve({ v: 1 });
      expect(new Set((await Promise.all(readers)).map((r) => r?.v))).toEqual(new Set([1]));
      expect(loads).toBe(1);
      expect(cache.stats().kinds.user).toMatchObject({ misses: 50, loads: 1 });
    });

    it("never stores a value loaded before an invalidation (the generation fence)", async () => {
      const cache = await openCache();
      const key = freshKey();
      const slow = deferred<{ balance: number }>();
      // The reader's load starts against the old row...
      const stale = cache.get(key, () => slow.promise);
      await waitFor(() => cache.stats().kinds.user.misses > 0);
      // ...a write commits and invalidates while it runs...
      await cache.invalidate([key]);
      // ...and a reader arriving now loads the new row instead of joining the old load.
      expect(await cache.get(key, async () => ({ balance: 90 }))).toEqual({ balance: 90 });
      slow.resolve({ balance: 100 });
      expect(await stale).toEqual({ balance: 100 });
      await waitFor(() => cache.stats().kinds.user.fillsFenced === 1);
      // Redis holds the new value, not the late old one.
      expect(await cache.get(key, async () => ({ balance: -1 }))).toEqual({ balance: 90 });
      expect(cache.stats().kinds.user).toMatchObject({ loads: 2, fillsStored: 1, fillsFenced: 1 });
    });

    it("reads from the database while Redis is down, and invalidates without throwing", async () => {
      const cache = await openCache({ url: DEAD_REDIS_URL });
      const key = freshKey();
      let loads = 0;
      const load = async () => ({ loads: ++loads });
      expect(await cache.get(key, load)).toEqual({ loads: 1 });
      expect(await cache.get(key, load)).toEqual({ loads: 2 });
      await expect(cache.invalidate([key])).resolves.toBeUndefined();
      const stats = cache.stats();
      expect(stats.kinds.user).toMatchObject({ bypasses: 2, hits: 0, misses: 0 });
      expect(stats.errors).toMatchObject({ read: 2, invalidate: 1 });
      expect(
        logs.lines.some((l) => l.msg === "result cache: Redis failed; reading from the database"),
      ).toBe(true);
    });

    it("falls back to the database when Redis goes away mid-run", async () => {
      const opened = caches.open(logs.logger);
      await ready(opened.redis);
      const key = freshKey();
      await opened.cache.get(key, async () => ({ v: 1 }));
      opened.redis.disconnect();
      expect(await opened.cache.get(key, async () => ({ v: 2 }))).toEqual({ v: 2 });
      expect(opened.cache.stats().kinds.user.bypasses).toBe(1);
    });

    it("exports its totals as Prometheus counters", async () => {
      const cache = await openCache();
      const key = freshKey();
      await cache.get(key, async () => ({ v: 1 }));
      await cache.get(key, async () => ({ v: 1 }));
      await cache.invalidate([key]);
      const metrics = createMetrics({
        database: fakeDatabase(),
        config: parseConfig({}),
        logger: logs.logger,
        migrations: async () => ({ applied: 0, pending: 0, lastAppliedAt: undefined }),
        serverStats: false,
        cache,
      });
      try {
        const samples = parseMetrics(await metrics.render());
        const value = (name: string, labels: Record<string, string>) =>
          sampleValue(samples, name, labels);
        expect(value(METRICS.cacheRequests, { kind: "user", result: "hit" })).toBe(1);
        expect(value(METRICS.cacheRequests, { kind: "user", result: "miss" })).toBe(1);
        expect(value(METRICS.cacheRequests, { kind: "account", result: "bypass" })).toBe(0);
        expect(value(METRICS.cacheLoads, { kind: "user" })).toBe(1);
        expect(value(METRICS.cacheInvalidations, { kind: "user" })).toBe(1);
        expect(value(METRICS.cacheErrors, { operation: "invalidate" })).toBe(0);
      } finally {
        await metrics.close();
      }
    });
  },
);
