/**
 * The result cache's variables (docs/performance.md#result-cache): their rules and the
 * `CacheConfig` they resolve to. Pure; `src/env.ts`, the only reader of `process.env`,
 * validates them with the others.
 */
import { z } from "zod";

export interface CacheConfig {
  /** `CACHE_REDIS_URL`; undefined: the cache is off and every read goes to PostgreSQL. */
  redisUrl: string | undefined;
  /**
   * How long a cached value lives. Also the bound on staleness when an invalidation fails
   * (Redis unreachable after a commit): see `result-cache.ts`.
   */
  ttlSeconds: number;
  /** Namespace of this service's keys, so that several services (or tests) share one Redis. */
  keyPrefix: string;
  /** Per Redis command: slower than this, the read goes to PostgreSQL instead. */
  timeoutMs: number;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const CACHE_VARIABLES = {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` (TLS); unset: no cache. */
  CACHE_REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" })
    .optional(),
  CACHE_TTL_SECONDS: int(1, 86_400).default(30),
  CACHE_KEY_PREFIX: z
    .string()
    .regex(/^[\w.:-]{1,64}$/, "1-64 letters, digits and _ . : -")
    .default("pg-drizzle-template"),
  CACHE_TIMEOUT_MS: int(1, 60_000).default(200),
};

type CacheVariables = z.output<z.ZodObject<typeof CACHE_VARIABLES>>;

export function resolveCache(env: CacheVariables): CacheConfig {
  return {
    redisUrl: env.CACHE_REDIS_URL,
    ttlSeconds: env.CACHE_TTL_SECONDS,
    keyPrefix: env.CACHE_KEY_PREFIX,
    timeoutMs: env.CACHE_TIMEOUT_MS,
  };
}
