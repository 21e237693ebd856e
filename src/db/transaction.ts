/**
 * Transactions the way a service needs them, over Drizzle's `db.transaction`:
 * isolation level / access mode / deferrable, automatic retry of serialization failures
 * (40001) and deadlocks (40P01) at the outermost level only, nested calls as savepoints,
 * per-transaction timeouts, after-commit / after-rollback hooks, and a bounded wait for a
 * pooled connection.
 *
 * The callback may run more than once (each retry re-runs it from the start), so it must not
 * have side effects outside the transaction: put e-mails, queue messages and cache writes in
 * `afterCommit`, which runs once, only after the successful attempt commits.
 *
 * @example
 * const transfer = await withTransaction(db, async (tx, { afterCommit }) => {
 *   const [row] = await tx.insert(transfers).values(input).returning();
 *   afterCommit(() => logger.info({ id: row.id }, "transfer committed"));
 *   return row;
 * }, { isolationLevel: "serializable", lockTimeoutMs: 2_000 });
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { sql } from "drizzle-orm";
import { PgTransaction, type PgTransactionConfig } from "drizzle-orm/pg-core";
import type { AppDatabase, AppTransaction } from "./client.js";
import { DatabaseError, mapDatabaseError, PoolTimeoutError } from "./errors.js";

export interface TransactionOptions {
  isolationLevel?: "read committed" | "repeatable read" | "serializable";
  accessMode?: "read only" | "read write";
  /** Only meaningful with `serializable` + `read only`. */
  deferrable?: boolean;
  /** Attempts in all, including the first. Default 5. Ignored for nested (savepoint) calls. */
  maxAttempts?: number;
  /** Backoff between attempts: full jitter over `min(maxDelayMs, baseDelayMs * 2^attempt)`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** `SET LOCAL statement_timeout`: each statement of this transaction. */
  statementTimeoutMs?: number;
  /** `SET LOCAL lock_timeout`: waiting for a row or table lock. */
  lockTimeoutMs?: number;
  /** `SET LOCAL idle_in_transaction_session_timeout`: the app holding the transaction idle. */
  idleInTransactionTimeoutMs?: number;
  /**
   * How long to wait for a pooled connection before failing with `PoolTimeoutError`.
   * Defaults to the database config's `poolTimeoutMs` when passed through `createTransactor`.
   */
  poolTimeoutMs?: number;
  /** Called before each retry, e.g. to count retries in metrics. */
  onRetry?: (error: DatabaseError, attempt: number) => void;
  /** Failures of hooks are reported here, never thrown (the transaction is already over). */
  onHookError?: (error: unknown) => void;
}

export interface TransactionContext {
  /** Runs after the outermost transaction commits; never on rollback or a retried attempt. */
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

interface Scope {
  commitHooks: (() => unknown)[];
  rollbackHooks: (() => unknown)[];
}

/** Set while a transaction callback runs; lets the pool guard explain a self-deadlock. */
const activeTransaction = new AsyncLocalStorage<{ depth: number }>();

/** True inside a `withTransaction` callback. */
export function insideTransaction(): boolean {
  return activeTransaction.getStore() !== undefined;
}

const scopes = new WeakMap<AppTransaction, Scope>();

const DEFAULTS = { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 1_000 };

/**
 * Runs `callback` in a transaction. Called with a transaction as `db`, it opens a savepoint
 * instead: a failure inside rolls back only the inner part, and is rethrown to the caller.
 */
export async function withTransaction<T>(
  db: AppDatabase | AppTransaction,
  callback: TransactionCallback<T>,
  options: TransactionOptions = {},
): Promise<T> {
  if (db instanceof PgTransaction) return runSavepoint(db as AppTransaction, callback, options);

  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULTS.maxAttempts);
  for (let attempt = 1; ; attempt++) {
    const scope: Scope = { commitHooks: [], rollbackHooks: [] };
    try {
      const result = await runOnce(db, callback, options, scope, attempt);
      await runHooks(scope.commitHooks, options);
      return result;
    } catch (error) {
      await runHooks(scope.rollbackHooks, options);
      const mapped = mapDatabaseError(error);
      if (mapped instanceof DatabaseError && mapped.retryable && attempt < maxAttempts) {
        options.onRetry?.(mapped, attempt);
        await sleep(backoffDelay(attempt, options));
        continue;
      }
      throw mapped;
    }
  }
}

/** Full-jitter exponential backoff (AWS architecture blog): spreads retries of a hot row. */
export function backoffDelay(attempt: number, options: TransactionOptions = {}): number {
  const base = options.baseDelayMs ?? DEFAULTS.baseDelayMs;
  const cap = options.maxDelayMs ?? DEFAULTS.maxDelayMs;
  return Math.random() * Math.min(cap, base * 2 ** (attempt - 1));
}

async function runOnce<T>(
  db: AppDatabase,
  callback: TransactionCallback<T>,
  options: TransactionOptions,
  scope: Scope,
  attempt: number,
): Promise<T> {
  let started = false;
  let abandoned = false;
  const work = db.transaction(async (tx) => {
    // The pool timer fired while this was queued: give the connection straight back.
    if (abandoned) throw new PoolTimeoutError(options.poolTimeoutMs ?? 0);
    started = true;
    scopes.set(tx, scope);
    await applyTimeouts(tx, options);
    return activeTransaction.run({ depth: 1 }, () => callback(tx, contextFor(scope, attempt)));
  }, transactionConfig(options));
  const poolTimeoutMs = options.poolTimeoutMs;
  if (!poolTimeoutMs) return work;

  let timer: NodeJS.Timeout | undefined;
  const waitForConnection = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      if (started) return;
      abandoned = true;
      reject(
        new PoolTimeoutError(
          poolTimeoutMs,
          insideTransaction()
            ? " (a transaction was opened on the root db inside another transaction's callback: use its tx)"
            : "",
        ),
      );
    }, poolTimeoutMs);
  });
  // If we give up waiting, `work` still settles later (with the abandon error): swallow it.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, waitForConnection]);
  } finally {
    clearTimeout(timer);
  }
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

async function runSavepoint<T>(
  parent: AppTransaction,
  callback: TransactionCallback<T>,
  options: TransactionOptions,
) {
  const parentScope = scopes.get(parent);
  const scope: Scope = { commitHooks: [], rollbackHooks: [] };
  const depth = (activeTransaction.getStore()?.depth ?? 1) + 1;
  try {
    const result = await parent.transaction((tx) => {
      scopes.set(tx, scope);
      return activeTransaction.run({ depth }, () => callback(tx, contextFor(scope, 1)));
    });
    // Committed into the parent: its hooks now depend on the outermost commit.
    if (parentScope) {
      parentScope.commitHooks.push(...scope.commitHooks);
      parentScope.rollbackHooks.push(...scope.rollbackHooks);
    }
    return result;
  } catch (error) {
    await runHooks(scope.rollbackHooks, options);
    throw mapDatabaseError(error);
  }
}

function contextFor(scope: Scope, attempt: number): TransactionContext {
  return {
    attempt,
    afterCommit: (hook) => scope.commitHooks.push(hook),
    afterRollback: (hook) => scope.rollbackHooks.push(hook),
  };
}

async function applyTimeouts(tx: AppTransaction, options: TransactionOptions) {
  const settings: [string, number | undefined][] = [
    ["statement_timeout", options.statementTimeoutMs],
    ["lock_timeout", options.lockTimeoutMs],
    ["idle_in_transaction_session_timeout", options.idleInTransactionTimeoutMs],
  ];
  for (const [name, value] of settings) {
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 0)
      throw new RangeError(`${name} must be an integer >= 0`);
    // SET takes no bind parameters; the name is a constant and the value a checked integer.
    await tx.execute(sql.raw(`set local ${name} = ${value}`));
  }
}

/** Hooks must not undo a committed transaction: their failures are reported, not thrown. */
async function runHooks(hooks: (() => unknown)[], options: TransactionOptions) {
  for (const hook of hooks) {
    try {
      await hook();
    } catch (error) {
      if (options.onHookError) options.onHookError(error);
      else process.emitWarning(`transaction hook failed: ${String(error)}`);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
