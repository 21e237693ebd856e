/**
 * The result cache, built from config: what `src/server.ts` hands `createApp` as `cache`, or
 * undefined when `CACHE_REDIS_URL` is unset (every read then goes to PostgreSQL).
 *
 * @example
 * const cache = await createCache(config.cache, { logger });
 * const app = createApp({ database, logger, cache });
 * // on shutdown
 * await cache?.close();
 */
import type { Logger } from "../logger.js";
import type { CacheConfig } from "./config.js";
import { createResultCache, type ResultCache } from "./result-cache.js";

export type { CacheConfig } from "./config.js";
export { invalidateAfterCommit } from "./invalidate-after-commit.js";
export { type CacheKey, type CacheKind, cacheKey } from "./keys.js";
export { readsFor } from "./reads-for.js";
export type { CacheStats, ResultCache } from "./result-cache.js";

/** How long start-up waits for Redis before serving without it. */
const READY_WAIT_MS = 2_000;

export interface CreateCacheOptions {
  logger: Logger;
}

/**
 * Connects to Redis and returns the cache; undefined when the cache is off. A Redis that doesn't
 * answer at start is logged, not fatal: reads go to PostgreSQL until it does (the client keeps
 * reconnecting with capped backoff).
 */
export async function createCache(
  config: CacheConfig,
  { logger }: CreateCacheOptions,
): Promise<ResultCache | undefined> {
  if (!config.redisUrl) return undefined;
  // Loaded only when the cache is on: ioredis is a tenth of a second of every start otherwise.
  const { createRedisClient } = await import("./redis-client.js");
  const redis = createRedisClient(config.redisUrl, config.timeoutMs);
  let lastError = "";
  redis.on("error", (error: Error) => {
    // Emitted on every failed reconnect: logged once per distinct message, not per attempt.
    if (error.message === lastError) return;
    lastError = error.message;
    logger.warn({ err: error }, "result cache: Redis connection failed; reads use the database");
  });
  redis.on("ready", () => {
    if (lastError) logger.info("result cache: Redis is back");
    lastError = "";
  });
  const ready = await new Promise<boolean>((resolve) => {
    if (redis.status === "ready") return resolve(true);
    redis.once("ready", () => resolve(true));
    setTimeout(resolve, READY_WAIT_MS, false).unref();
  });
  if (!ready) logger.warn("result cache: Redis not ready at start; reads use the database");
  return createResultCache({
    redis,
    keyPrefix: config.keyPrefix,
    ttlSeconds: config.ttlSeconds,
    logger,
  });
}
