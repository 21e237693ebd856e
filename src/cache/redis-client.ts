/**
 * The Redis client of the result cache (src/cache/index.ts loads this module only when
 * `CACHE_REDIS_URL` is set).
 */
import { Redis } from "ioredis";

/**
 * A client that fails fast instead of queueing: while Redis is unreachable a command fails at
 * once (no offline queue, no re-send after a reconnect) and a slow one after `timeoutMs`, so a
 * read falls back to PostgreSQL instead of waiting for Redis. Auto-pipelining writes the
 * commands of one event-loop turn in one syscall, as postgres.js does for queries.
 */
export function createRedisClient(url: string, timeoutMs: number): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 2_000),
    enableAutoPipelining: true,
    connectionName: "result-cache",
  });
}
