/**
 * The migration lock: a session advisory lock on the run's single connection, so concurrent
 * deploys apply each migration once (the others wait, then find nothing pending). Advisory
 * locks are per database, so runs against different databases never wait on each other.
 *
 * @example
 * await withMigrationLock(connection, { lockTimeoutMs: 60_000 }, async (lockPid) => {
 *   await assertLockHeld(connection, lockPid); // before each migration
 * });
 */
import type { MigrationConnection } from "./connection.js";
import { MigrationLockTimeoutError } from "./errors.js";

/** The session advisory lock every run of this runner takes ('migr' in ASCII). */
export const MIGRATION_LOCK_KEY = 0x6d696772;

export interface LockOptions {
  /** How long to wait for another run's lock. Default 5 minutes. */
  lockTimeoutMs?: number;
  log?: (line: string) => void;
}

/** Runs `work` holding the lock; `work` gets the backend pid that holds it. */
export async function withMigrationLock<T>(
  connection: MigrationConnection,
  options: LockOptions,
  work: (lockPid: number) => Promise<T>,
): Promise<T> {
  const lockPid = await acquireLock(connection, options.lockTimeoutMs ?? 300_000, options.log);
  try {
    return await work(lockPid);
  } finally {
    // If the session is gone the lock went with it; an unlock error must not hide `work`'s.
    await connection
      .query(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`)
      .catch(() => undefined);
  }
}

/** A reconnect would have dropped the lock (and any open transaction) without a word. */
export async function assertLockHeld(
  connection: MigrationConnection,
  lockPid: number,
): Promise<void> {
  const [row] = await connection.query<{ pid: number }>("select pg_backend_pid() as pid");
  if (row?.pid !== lockPid) {
    throw new Error("the migration connection was replaced mid-run and lost its lock; aborting");
  }
}

/** Takes the session lock, waiting up to `timeoutMs`; returns the backend pid holding it. */
async function acquireLock(
  connection: MigrationConnection,
  timeoutMs: number,
  log: ((line: string) => void) | undefined,
): Promise<number> {
  const [first] = await connection.query<{ locked: boolean; pid: number }>(
    `select pg_try_advisory_lock(${MIGRATION_LOCK_KEY}) as locked, pg_backend_pid() as pid`,
  );
  if (!first) throw new Error("pg_try_advisory_lock returned no row");
  if (first.locked) return first.pid;

  const holder = await lockHolder(connection);
  log?.(`waiting for the migration lock, held by ${holder ?? "another session"}`);
  // lock_timeout applies to advisory locks too; it is reset before any migration runs.
  await connection.query(`set lock_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
  try {
    await connection.query(`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
  } catch (error) {
    if ((error as { code?: unknown }).code === "55P03") {
      throw new MigrationLockTimeoutError(timeoutMs, holder);
    }
    throw error;
  } finally {
    await connection.query("reset lock_timeout");
  }
  return first.pid;
}

async function lockHolder(connection: MigrationConnection): Promise<string | undefined> {
  const [row] = await connection.query<{ pid: number; application_name: string }>(
    `select a.pid, a.application_name
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and l.classid = 0 and l.objid = $1
        and l.database = (select oid from pg_database where datname = current_database())`,
    [MIGRATION_LOCK_KEY],
  );
  return row ? `pid ${row.pid} (${row.application_name || "no application_name"})` : undefined;
}
