/**
 * The result cache's tests run against a real Redis (`TEST_REDIS_URL`, default the local one on
 * 127.0.0.1:6379), which other processes share: each file uses keys under a prefix of its own
 * and deletes them at the end. Without a Redis the files are skipped, and their names say why;
 * with `CI=true` that is an error instead, as for the database.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll } from "vitest";
import { createRedisClient } from "../../../src/cache/redis-client.js";
import { createResultCache, type ResultCache } from "../../../src/cache/result-cache.js";
import { testEnv } from "../../../src/env.js";
import type { Logger } from "../../../src/logger.js";

export const REDIS_URL = testEnv().testRedisUrl;

/** True when a Redis answers PING at `REDIS_URL` within a second. */
export async function redisAnswers(url = REDIS_URL): Promise<boolean> {
  const redis = createRedisClient(url, 1_000);
  redis.on("error", () => undefined);
  try {
    const ready = await new Promise<boolean>((resolve) => {
      redis.once("ready", () => resolve(true));
      setTimeout(resolve, 1_000, false).unref();
    });
    return ready && (await redis.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** Skips the file (naming why) without a Redis; fails it instead under CI. */
export async function requireRedis(): Promise<{ available: boolean; reason: string }> {
  const available = await redisAnswers();
  const reason = `needs a Redis at ${REDIS_URL} (set TEST_REDIS_URL): none answered`;
  if (!available && testEnv().ci) throw new Error(`CI=true: ${reason}`);
  return { available, reason };
}

/**
 * Caches on keys under one random prefix for the calling file, all closed and their keys
 * deleted after its tests. `url` may point at a Redis that isn't there.
 */
export function useCaches() {
  const prefix = `test-cache-${randomBytes(6).toString("hex")}`;
  const opened: { cache: ResultCache; redis: Redis }[] = [];
  afterAll(async () => {
    for (const { cache } of opened) await cache.close();
    if (opened.length > 0 && (await redisAnswers())) await deleteKeys(prefix);
  });
  return {
    prefix,
    /** A new cache (its own connection and in-flight loads: another "instance"). */
    open(logger: Logger, options: { url?: string; ttlSeconds?: number; timeoutMs?: number } = {}) {
      const redis = createRedisClient(options.url ?? REDIS_URL, options.timeoutMs ?? 500);
      redis.on("error", () => undefined);
      const cache = createResultCache({
        redis,
        keyPrefix: prefix,
        ttlSeconds: options.ttlSeconds ?? 60,
        logger,
      });
      opened.push({ cache, redis });
      return { cache, redis };
    },
  };
}

/** A Redis URL where nothing listens: the cache's "Redis is down". */
export const DEAD_REDIS_URL = "redis://127.0.0.1:1";

/** Resolves once `redis` is ready (the first commands of a fresh client would bypass). */
export function ready(redis: Redis): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise((resolve) => redis.once("ready", () => resolve()));
}

async function deleteKeys(prefix: string) {
  const redis = createRedisClient(REDIS_URL, 2_000);
  redis.on("error", () => undefined);
  await ready(redis);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    await redis.quit();
  }
}

/** A promise with its resolve exposed: a load the test releases when it chooses. */
export function deferred<T>() {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Polls `condition` every 5 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
