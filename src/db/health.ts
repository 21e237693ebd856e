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

export function pingPostgres(pool: postgres.Sql, timeoutMs: number): Promise<PingResult> {
  const query = pool`select 1`;
  return withDeadline(
    query.then(() => undefined),
    timeoutMs,
    () => query.cancel(),
  );
}

export function pingPglite(pglite: PGlite, timeoutMs: number): Promise<PingResult> {
  return withDeadline(
    pglite.query("select 1").then(() => undefined),
    timeoutMs,
  );
}

/** Resolves with the latency, or rejects with a typed timeout once `timeoutMs` has passed. */
async function withDeadline(
  work: Promise<void>,
  timeoutMs: number,
  onTimeout?: () => void,
): Promise<PingResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new DatabaseTimeoutError("statement", { code: "HEALTH_TIMEOUT" }, undefined));
    }, timeoutMs);
  });
  try {
    await Promise.race([work, deadline]);
    return { latencyMs: Math.round((performance.now() - started) * 100) / 100 };
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
