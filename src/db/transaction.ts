/**
 * Transactions the way a service needs them, over Drizzle's `db.transaction`:
 * - isolation level / access mode / deferrable;
 * - automatic retry of serialization failures (40001) and deadlocks (40P01), at the outermost
 *   level only, with capped exponential backoff and full jitter; every other error is thrown
 *   at once;
 * - nested calls as savepoints: a failure inside rolls back only the inner part;
 * - per-transaction `statement_timeout`, `lock_timeout` and `idle_in_transaction_session_timeout`,
 *   surfacing as `DatabaseTimeoutError`;
 * - after-commit / after-rollback hooks;
 * - a bounded wait for a pooled connection (`PoolTimeoutError`, enforced by `client.ts` for every
 *   transaction; `poolTimeoutMs` here overrides the configured bound).
 *
 * **The callback may run more than once** (each retry re-runs it from the start, with a fresh
 * `tx`), so it must be safe to re-run: read what it needs inside the transaction, and keep side
 * effects outside the database — e-mails, queue messages, cache writes, counters — in
 * `afterCommit`, which runs once, only after the attempt that committed.
 *
 * @example
 * const transfer = await withTransaction(db, async (tx, { afterCommit }) => {
 *   const [row] = await tx.insert(transfers).values(input).returning();
 *   afterCommit(() => logger.info({ id: row.id }, "transfer committed"));
 *   return row;
 * }, { isolationLevel: "serializable", lockTimeoutMs: 2_000 });
 */
import { is, sql } from "drizzle-orm";
import { PgTransaction, type PgTransactionConfig } from "drizzle-orm/pg-core";
import type { AppDatabase, AppTransaction } from "./client.js";
import { contextOf, type DriverContext } from "./driver/context.js";
import { idleMsBeforeLoss } from "./driver/instrumented-query.js";
import {
  ConnectionError,
  DatabaseError,
  DatabaseTimeoutError,
  mapDatabaseError,
} from "./errors.js";
import { withPoolTimeout } from "./pool-gate.js";

export interface TransactionOptions {
  isolationLevel?: "read committed" | "repeatable read" | "serializable";
  accessMode?: "read only" | "read write";
  /** Only meaningful with `serializable` + `read only`: waits for a safe snapshot, never fails. */
  deferrable?: boolean;
  /** Attempts in all, including the first. Default 5. */
  maxAttempts?: number;
  /** Backoff before retry n: uniform in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** `statement_timeout` for this transaction's statements (ms). */
  statementTimeoutMs?: number;
  /** `lock_timeout`: how long a statement waits for a row or table lock (ms). */
  lockTimeoutMs?: number;
  /** `idle_in_transaction_session_timeout`: the app holding the transaction open doing nothing. */
  idleInTransactionTimeoutMs?: number;
  /** How long to wait for a pooled connection; default: the database's `poolTimeoutMs`. */
  poolTimeoutMs?: number;
  /**
   * Custom settings for this transaction only (`set_config(name, value, true)`, sent with the
   * timeouts in one statement), which the database's triggers and policies read with
   * `current_setting(name, true)`: the audit log's `app.actor` and `app.request_id`
   * (docs/security.md). Names need a dot (`app.x`); a pooled connection keeps none of them.
   */
  settings?: Readonly<Record<string, string>>;
  /** Called before each retry, e.g. to count retries in metrics. */
  onRetry?: (error: DatabaseError, attempt: number) => void;
  /** Failures of hooks are reported here, never thrown (the transaction is already over). */
  onHookError?: (error: unknown) => void;
}

export interface TransactionContext {
  /**
   * Runs after the outermost transaction commits; never on rollback or a retried attempt.
   * Hooks run in registration order and are awaited before `withTransaction` returns.
   */
  afterCommit(hook: () => unknown): void;
  /** Runs after this (sub)transaction rolls back, once per rolled-back attempt. */
  afterRollback(hook: () => unknown): void;
  /** 1 for the first attempt. */
  readonly attempt: number;
}

export type TransactionCallback<T> = (
  tx: AppTransaction,
  context: TransactionContext,
) => Promise<T>;

/** Hooks registered in one (sub)transaction attempt. */
interface Scope {
  attempt: number;
  /** The database's listeners (undefined for a Drizzle instance not made by createDatabase). */
  context: DriverContext | undefined;
  /** False under a plain `db.transaction`: nothing would run commit hooks at its commit. */
  reachesCommit: boolean;
  commitHooks: (() => unknown)[];
  rollbackHooks: (() => unknown)[];
}

const scopes = new WeakMap<AppTransaction, Scope>();

const DEFAULTS = { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 1_000 };

/**
 * The options that describe the outermost transaction. A savepoint can't change them:
 * PostgreSQL fixes the isolation level at the first statement, and a `SET LOCAL` in a savepoint
 * would outlive it.
 */
const OUTERMOST_ONLY = [
  "isolationLevel",
  "accessMode",
  "deferrable",
  "statementTimeoutMs",
  "lockTimeoutMs",
  "idleInTransactionTimeoutMs",
  "settings",
] as const;

/**
 * Runs `callback` in a transaction. Called with a transaction as `db`, it opens a savepoint
 * instead: a failure inside rolls back only the inner part and is rethrown to the caller, and
 * retries stay with the outermost call (a deadlock aborts the whole transaction anyway).
 * Errors are thrown as the typed errors of `errors.ts`.
 *
 * @example
 * await withTransaction(db, async (tx) => {
 *   await tx.insert(orders).values(order);
 *   // Optional part: its failure undoes only its own writes.
 *   await withTransaction(tx, (sp) => sp.insert(coupons).values(coupon)).catch(() => undefined);
 * });
 */
export async function withTransaction<T>(
  db: AppDatabase | AppTransaction,
  callback: TransactionCallback<T>,
  options: TransactionOptions = {},
): Promise<T> {
  if (is(db, PgTransaction)) {
    const fixed = OUTERMOST_ONLY.filter((name) => options[name] !== undefined);
    if (fixed.length > 0) {
      throw new TypeError(`${fixed.join(", ")} can only be set on the outermost transaction`);
    }
    return runSavepoint(db as AppTransaction, callback, options);
  }

  const maxAttempts = options.maxAttempts ?? DEFAULTS.maxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError("maxAttempts must be an integer >= 1");
  }
  const settings = [...timeoutSettings(options), ...customSettings(options)];
  const context = contextOf(db);
  for (let attempt = 1; ; attempt++) {
    const scope: Scope = {
      attempt,
      context,
      reachesCommit: true,
      commitHooks: [],
      rollbackHooks: [],
    };
    try {
      const result = await runOnce(db, callback, options, settings, scope);
      await runHooks(scope.commitHooks, options);
      return result;
    } catch (error) {
      await runHooks(scope.rollbackHooks, options);
      if (error instanceof DatabaseError && error.retryable && attempt < maxAttempts) {
        context?.events.emit("retry", { error, attempt });
        options.onRetry?.(error, attempt);
        await sleep(backoffDelay(attempt, options));
        continue;
      }
      throw error;
    }
  }
}

/**
 * Full-jitter exponential backoff (AWS architecture blog): spreads retries of a hot row.
 *
 * @example
 * backoffDelay(3, { baseDelayMs: 10, maxDelayMs: 1_000 }); // uniform in [0, 40) ms
 */
export function backoffDelay(attempt: number, options: TransactionOptions = {}): number {
  const base = options.baseDelayMs ?? DEFAULTS.baseDelayMs;
  const cap = options.maxDelayMs ?? DEFAULTS.maxDelayMs;
  return Math.random() * Math.min(cap, base * 2 ** (attempt - 1));
}

/** One attempt; throws typed errors. */
async function runOnce<T>(
  db: AppDatabase,
  callback: TransactionCallback<T>,
  options: TransactionOptions,
  settings: [string, number | string][],
  scope: Scope,
): Promise<T> {
  const run = () =>
    db.transaction(async (tx) => {
      scopes.set(tx, scope);
      if (settings.length > 0) {
        // set_config(..., true) is SET LOCAL, with bound values, in one round trip.
        const calls = settings.map(
          ([name, value]) => sql`set_config(${name}, ${String(value)}, true)`,
        );
        await tx.execute(sql`select ${sql.join(calls, sql`, `)}`);
      }
      return callback(tx, contextFor(scope));
    }, transactionConfig(options));
  try {
    return await (options.poolTimeoutMs === undefined
      ? run()
      : withPoolTimeout(options.poolTimeoutMs, run));
  } catch (error) {
    const mapped = mapDatabaseError(error);
    if (mapped instanceof ConnectionError && idledOut(error, options)) {
      throw new DatabaseTimeoutError("idle_in_transaction", { code: "25P03" }, mapped);
    }
    throw mapped;
  }
}

/**
 * The server ends a session idle in a transaction past the timeout with a FATAL 25P03 that
 * reaches no query (the client is idle), then closes the socket: the client sees only a closed
 * connection. It was the timeout if nothing ran for (about) that long before the loss (the
 * instrumented client records that on the error). The margin absorbs the round trip between the
 * server's clock and ours.
 */
function idledOut(error: unknown, options: TransactionOptions) {
  const timeoutMs = options.idleInTransactionTimeoutMs;
  const idleMs = idleMsBeforeLoss(error);
  return idleMs !== undefined && !!timeoutMs && idleMs >= timeoutMs * 0.9;
}

/** Drizzle emits `SET TRANSACTION` for any config object, so an empty one must be undefined. */
function transactionConfig(options: TransactionOptions): PgTransactionConfig | undefined {
  const config: PgTransactionConfig = {
    ...(options.isolationLevel ? { isolationLevel: options.isolationLevel } : {}),
    ...(options.accessMode ? { accessMode: options.accessMode } : {}),
    ...(options.deferrable !== undefined ? { deferrable: options.deferrable } : {}),
  };
  return Object.keys(config).length > 0 ? config : undefined;
}

/** Validated before the transaction starts, so a typo fails without a round trip. */
function timeoutSettings(options: TransactionOptions): [string, number][] {
  const settings: [string, number | undefined][] = [
    ["statement_timeout", options.statementTimeoutMs],
    ["lock_timeout", options.lockTimeoutMs],
    ["idle_in_transaction_session_timeout", options.idleInTransactionTimeoutMs],
  ];
  return settings.flatMap(([name, value]): [string, number][] => {
    if (value === undefined) return [];
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`${name} must be an integer number of milliseconds >= 0`);
    }
    return [[name, value]];
  });
}

/** Validated before the transaction starts: a name without a dot would be a real setting. */
function customSettings(options: TransactionOptions): [string, string][] {
  return Object.entries(options.settings ?? {}).map(([name, value]): [string, string] => {
    if (!/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_.]*$/i.test(name)) {
      throw new RangeError(
        `settings: ${JSON.stringify(name)} is not a custom setting (prefix.name)`,
      );
    }
    return [name, value];
  });
}

async function runSavepoint<T>(
  parent: AppTransaction,
  callback: TransactionCallback<T>,
  options: TransactionOptions,
) {
  const parentScope = scopes.get(parent);
  const scope: Scope = {
    attempt: parentScope?.attempt ?? 1,
    context: parentScope?.context,
    reachesCommit: parentScope?.reachesCommit ?? false,
    commitHooks: [],
    rollbackHooks: [],
  };
  const startedAt = Date.now();
  const started = performance.now();
  const report = (error?: unknown) =>
    scope.context?.events.emit("transaction", {
      outcome: error === undefined ? "commit" : "rollback",
      savepoint: true,
      startedAt,
      durationMs: performance.now() - started,
      ...(error === undefined ? {} : { error }),
    });
  try {
    const result = await parent.transaction((tx) => {
      scopes.set(tx, scope);
      return callback(tx, contextFor(scope));
    });
    report();
    // Released into the parent: its hooks now depend on the outermost outcome.
    parentScope?.commitHooks.push(...scope.commitHooks);
    parentScope?.rollbackHooks.push(...scope.rollbackHooks);
    return result;
  } catch (error) {
    const mapped = mapDatabaseError(error);
    report(mapped);
    await runHooks(scope.rollbackHooks, options);
    throw mapped;
  }
}

function contextFor(scope: Scope): TransactionContext {
  return {
    attempt: scope.attempt,
    afterCommit: (hook) => {
      if (!scope.reachesCommit) {
        throw new TypeError(
          "afterCommit needs the outermost transaction opened by withTransaction",
        );
      }
      scope.commitHooks.push(hook);
    },
    afterRollback: (hook) => scope.rollbackHooks.push(hook),
  };
}

/** Hooks must not undo a committed transaction: their failures are reported, not thrown. */
async function runHooks(hooks: (() => unknown)[], options: TransactionOptions) {
  for (const hook of hooks) {
    try {
      await hook();
    } catch (error) {
      if (options.onHookError) options.onHookError(error);
      else {
        // Mapped first: a failed query's own message would carry its parameters.
        const safe = mapDatabaseError(error);
        process.emitWarning(
          `transaction hook failed: ${safe instanceof Error ? safe.message : ""}`,
        );
      }
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
