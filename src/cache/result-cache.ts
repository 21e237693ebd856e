/**
 * A read-through result cache on Redis for hot point reads, invalidated after commit.
 *
 * **No reader sees a value older than a write whose request has returned.** Each entry has a
 * value key and a generation key. A reader reads both (one MGET) before it loads from
 * PostgreSQL; an invalidation, run after the write's commit, bumps the generation and deletes
 * the value in one script; a reader's fill stores its value only if the generation is still the
 * one it saw before its load began (another script). So a reader whose load started before a
 * commit, and would store the old row after that commit's invalidation, finds the generation
 * moved and stores nothing; had it stored before the invalidation, the invalidation deletes it.
 * Between a commit and its invalidation (the write's `afterCommit` hook, which runs before the
 * write's request returns) readers may still get the old value, as they would reading just
 * before the commit.
 *
 * **Redis down or slow** (`CACHE_TIMEOUT_MS`): reads go to PostgreSQL and are counted as
 * `bypass`; nothing fails. An invalidation that fails is counted and logged, and the old value
 * stays until its TTL ends: a reader can then be up to `CACHE_TTL_SECONDS` (plus the duration
 * of one load, bounded by the statement timeout) behind a committed write. The same holds if
 * Redis loses a generation key during a load (restart without persistence, eviction). Keep the
 * TTL short for rows whose staleness matters.
 *
 * **Stampedes.** Concurrent misses of one key in this process share one load (single flight),
 * keyed by the generation they saw: a reader that arrives after an invalidation never joins a
 * load that began before it. Across instances each process loads once, so N instances make at
 * most N loads of a key per generation; a distributed lock would make every instance wait on
 * Redis for what is one indexed query.
 *
 * Values are JSON: cache what the API returns (DTOs with ISO dates), not driver rows. A load
 * returning `undefined` (no such row) is not cached, so a row created later is seen at once.
 *
 * @example
 * const cache = createResultCache({ redis, keyPrefix: "app", ttlSeconds: 30, logger });
 * const user = await cache.get(cacheKey.user(id), async () => toDto(await getUser(db, id)));
 * // in the transaction that changed the user
 * afterCommit(() => cache.invalidate([cacheKey.user(id)]));
 */
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { CACHE_KINDS, type CacheKey, type CacheKind, redisKeysOf } from "./keys.js";

export interface ResultCache {
  /** The cached value of `key`, or `load()`'s (stored for the next reader unless undefined). */
  get<T>(key: CacheKey, load: () => Promise<T | undefined>): Promise<T | undefined>;
  /** Drops `keys` (call it after the commit that changed their rows). Never throws. */
  invalidate(keys: readonly CacheKey[]): Promise<void>;
  /** Running totals since start, for metrics and benchmarks. */
  stats(): CacheStats;
  /** Closes the Redis connection (waits for commands already sent). */
  close(): Promise<void>;
}

export interface KindStats {
  hits: number;
  misses: number;
  /** Reads that went to PostgreSQL because Redis failed or was too slow. */
  bypasses: number;
  /** PostgreSQL loads after misses: misses minus the ones that shared a load. */
  loads: number;
  /** Values stored after a load. */
  fillsStored: number;
  /** Fills refused because an invalidation happened during their load. */
  fillsFenced: number;
  invalidations: number;
}

export interface CacheStats {
  kinds: Record<CacheKind, KindStats>;
  errors: Record<CacheOperation, number>;
}

export const CACHE_OPERATIONS = ["read", "fill", "invalidate"] as const;
export type CacheOperation = (typeof CACHE_OPERATIONS)[number];

export interface ResultCacheOptions {
  /** A connected client; `createCache` (index.ts) makes one with fail-fast options. */
  redis: Redis;
  keyPrefix: string;
  ttlSeconds: number;
  logger: Logger;
}

/**
 * Stores the value only if the generation is the one the reader saw before loading.
 * KEYS: value, generation. ARGV: generation seen ("" for none), value, TTL in ms.
 */
const FILL = `
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

/**
 * Bumps the generation and deletes the value, atomically.
 * KEYS: value, generation. ARGV: the generation's TTL in seconds.
 */
const INVALIDATE = `
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
return 1`;

/**
 * How long a generation outlives its last invalidation. A reader whose load outlasted it could
 * store a stale value, so it is far longer than any load (statement_timeout bounds those).
 */
const GENERATION_TTL_SECONDS = 86_400;

/** At most one warning per operation in this interval while Redis keeps failing. */
const WARN_INTERVAL_MS = 10_000;

export function createResultCache({
  redis,
  keyPrefix,
  ttlSeconds,
  logger,
}: ResultCacheOptions): ResultCache {
  const ttlMs = String(ttlSeconds * 1000);
  const kinds = Object.fromEntries(CACHE_KINDS.map((kind) => [kind, emptyKindStats()])) as Record<
    CacheKind,
    KindStats
  >;
  const errors = Object.fromEntries(CACHE_OPERATIONS.map((op) => [op, 0])) as Record<
    CacheOperation,
    number
  >;
  const warnings: Record<CacheOperation, string> = {
    read: "result cache: Redis failed; reading from the database",
    fill: "result cache: storing a loaded value failed; the next read loads again",
    invalidate: `result cache: invalidation failed; readers may see the old value for up to ${ttlSeconds} s`,
  };
  const lastWarnedAt = new Map<CacheOperation, number>();
  const failed = (operation: CacheOperation, error: unknown) => {
    errors[operation]++;
    const now = Date.now();
    if (now - (lastWarnedAt.get(operation) ?? 0) < WARN_INTERVAL_MS) return;
    lastWarnedAt.set(operation, now);
    logger.warn({ err: error, operation, errors: errors[operation] }, warnings[operation]);
  };

  /** Loads in flight, by value key and the generation their readers saw. */
  const inFlight = new Map<string, Promise<unknown>>();

  const loadAndFill = async <T>(
    key: CacheKey,
    names: { value: string; generation: string },
    generation: string,
    load: () => Promise<T | undefined>,
  ): Promise<T | undefined> => {
    const value = await load();
    const stats = kinds[key.kind];
    stats.loads++;
    if (value === undefined) return value;
    // Not awaited: the reader has its value. Commands on one connection run in order, so a read
    // sent after this fill by this process sees it.
    let json: string;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      failed("fill", error);
      return value;
    }
    redis.eval(FILL, 2, names.value, names.generation, generation, json, ttlMs).then(
      (stored) => {
        if (stored === 1) stats.fillsStored++;
        else stats.fillsFenced++;
      },
      (error: unknown) => failed("fill", error),
    );
    return value;
  };

  return {
    async get<T>(key: CacheKey, load: () => Promise<T | undefined>) {
      const stats = kinds[key.kind];
      const names = redisKeysOf(keyPrefix, key);
      let cached: (string | null)[];
      try {
        cached = await redis.mget(names.value, names.generation);
      } catch (error) {
        failed("read", error);
        stats.bypasses++;
        return load();
      }
      const [value, generation] = cached;
      if (value != null) {
        const parsed = parseCached<T>(value);
        if (parsed !== undefined) {
          stats.hits++;
          return parsed;
        }
      }
      stats.misses++;
      const seen = generation ?? "";
      const flightKey = `${names.value}\n${seen}`;
      const shared = inFlight.get(flightKey);
      if (shared) return shared as Promise<T | undefined>;
      const flight = loadAndFill(key, names, seen, load).finally(() => {
        if (inFlight.get(flightKey) === flight) inFlight.delete(flightKey);
      });
      inFlight.set(flightKey, flight);
      return flight;
    },

    async invalidate(keys) {
      await Promise.all(
        keys.map(async (key) => {
          const names = redisKeysOf(keyPrefix, key);
          try {
            await redis.eval(INVALIDATE, 2, names.value, names.generation, GENERATION_TTL_SECONDS);
            kinds[key.kind].invalidations++;
          } catch (error) {
            failed("invalidate", error);
          }
        }),
      );
    },

    stats: () => ({
      kinds: Object.fromEntries(
        CACHE_KINDS.map((kind) => [kind, { ...kinds[kind] }]),
      ) as CacheStats["kinds"],
      errors: { ...errors },
    }),

    async close() {
      if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}

/** Undefined for a value this code didn't write (then loaded again and overwritten). */
function parseCached<T>(value: string): T | undefined {
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
}

function emptyKindStats(): KindStats {
  return {
    hits: 0,
    misses: 0,
    bypasses: 0,
    loads: 0,
    fillsStored: 0,
    fillsFenced: 0,
    invalidations: 0,
  };
}
