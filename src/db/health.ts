/**
 * Health checks: `SELECT 1` bounded by a deadline, rejecting with a typed error, never hanging.
 * They go straight to the driver, outside the pool gate, the query log and the metrics: a probe
 * is not application traffic, and must answer even while the gate has callers waiting.
 */
import type { PGlite } from "@electric-sql/pglite";
import type postgres from "postgres";
import { ConnectionError, DatabaseTimeoutError, mapDatabaseError } from "./errors.js";

export interface PingResult {
  latencyMs: number;
}

export async function pingPostgres(pool: postgres.Sql, timeoutMs: number): Promise<PingResult> {
  const started = performance.now();
  await boundedQuery(pool, "select 1", timeoutMs);
  return latencySince(started);
}

export async function pingPglite(pglite: PGlite, timeoutMs: number): Promise<PingResult> {
  const started = performance.now();
  await withDeadline(pglite.query("select 1"), timeoutMs);
  return latencySince(started);
}

/**
 * A probe's query on `pool` (no parameters), bounded like a ping: cancelled and rejected with a
 * typed timeout after `timeoutMs`. For the replica watch (replicas.ts) as much as for pings.
 */
export function boundedQuery<T extends object = Record<string, unknown>>(
  pool: postgres.Sql,
  text: string,
  timeoutMs: number,
): Promise<T[]> {
  const query = pool.unsafe<T[]>(text);
  return withDeadline(
    query.then((rows) => [...rows]),
    timeoutMs,
    () => query.cancel(),
  );
}

const latencySince = (started: number): PingResult => ({
  latencyMs: Math.round((performance.now() - started) * 100) / 100,
});

/** `work`'s result, or a typed rejection once `timeoutMs` has passed. */
async function withDeadline<T>(
  work: Promise<T>,
  timeoutMs: number,
  onTimeout?: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new DatabaseTimeoutError("statement", { code: "HEALTH_TIMEOUT" }, undefined));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } catch (error) {
    const mapped = mapDatabaseError(error);
    throw mapped instanceof Error
      ? mapped
      : new ConnectionError("ping failed", { code: undefined });
  } finally {
    clearTimeout(timer);
    // A query abandoned at the deadline still settles later; nobody awaits it any more.
    work.catch(() => undefined);
  }
}
