/**
 * The result cache's metrics (src/cache): hits, misses and bypasses (Redis failed, read from the
 * database), loads, fills stored or fenced off by an invalidation, invalidations, and errors.
 * The cache keeps plain running totals; each counter catches up with them when Prometheus
 * scrapes, so a cache read costs no prom-client call. Labels are the fixed sets of
 * `CACHE_KINDS` and `CACHE_OPERATIONS`.
 *
 * @example
 * registerCacheMetrics(registry, { stats: () => cache.stats() });
 */
import { Counter, type Registry } from "prom-client";
import { CACHE_KINDS, type CacheKind } from "../cache/keys.js";
import { CACHE_OPERATIONS, type CacheStats, type KindStats } from "../cache/result-cache.js";
import { METRICS } from "./metric-names.js";

/** What the metrics need of a `ResultCache`. */
export interface ObservedCache {
  stats(): CacheStats;
}

/**
 * Registers the cache's counters. Without a cache (`CACHE_REDIS_URL` unset) they are registered
 * with no series, so the exported names don't depend on configuration.
 */
export function registerCacheMetrics(registry: Registry, cache: ObservedCache | undefined) {
  const registers = [registry];
  /** A counter per label set that follows one running total of the cache's stats. */
  const following = (
    name: string,
    help: string,
    labelNames: string[],
    series: () => [Record<string, string>, (stats: CacheStats) => number][],
  ) => {
    const reported = new Map<string, number>();
    return new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        if (!cache) return;
        const stats = cache.stats();
        for (const [labels, read] of series()) {
          const id = JSON.stringify(labels);
          const total = read(stats);
          const delta = total - (reported.get(id) ?? 0);
          // inc(0) too: every series exists from the first scrape, for ratios and alerts.
          if (delta >= 0) this.inc(labels, delta);
          reported.set(id, total);
        }
      },
    });
  };
  const perKind = (read: (stats: KindStats) => number, extra: Record<string, string> = {}) =>
    CACHE_KINDS.map((kind): [Record<string, string>, (stats: CacheStats) => number] => [
      { kind, ...extra },
      (stats) => read(stats.kinds[kind as CacheKind]),
    ]);

  following(
    METRICS.cacheRequests,
    "Cached reads by result: hit, miss (loaded from the database), bypass (Redis failed)",
    ["kind", "result"],
    () => [
      ...perKind((s) => s.hits, { result: "hit" }),
      ...perKind((s) => s.misses, { result: "miss" }),
      ...perKind((s) => s.bypasses, { result: "bypass" }),
    ],
  );
  following(
    METRICS.cacheLoads,
    "Database loads after misses; concurrent misses of one key in a process share one",
    ["kind"],
    () => perKind((s) => s.loads),
  );
  following(
    METRICS.cacheFills,
    "Values stored after a load, or fenced off because an invalidation came during the load",
    ["kind", "outcome"],
    () => [
      ...perKind((s) => s.fillsStored, { outcome: "stored" }),
      ...perKind((s) => s.fillsFenced, { outcome: "fenced" }),
    ],
  );
  following(METRICS.cacheInvalidations, "Keys invalidated after a commit", ["kind"], () =>
    perKind((s) => s.invalidations),
  );
  following(
    METRICS.cacheErrors,
    "Redis commands that failed or timed out, by operation; an invalidate error leaves a " +
      "value stale for up to CACHE_TTL_SECONDS",
    ["operation"],
    () =>
      CACHE_OPERATIONS.map((operation): [Record<string, string>, (s: CacheStats) => number] => [
        { operation },
        (stats) => stats.errors[operation],
      ]),
  );
}
