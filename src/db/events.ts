/**
 * What the data layer reports about itself: the one seam that the query log, metrics, tracing
 * and (later) replica routing hang on. `createDatabase` emits these from its instrumented client
 * (postgres.js and PGlite alike) and `withTransaction` from its transactions; a listener added
 * with `database.listen(listener)` receives them synchronously, so it must be cheap and must not
 * throw (a throwing listener is reported once per listener and then ignored).
 *
 * Events never carry parameter values except `QueryEvent.params`, which only the query log may
 * print (and only with `DATABASE_LOG_PARAMS=true`): metrics and spans must not.
 *
 * @example
 * const stop = database.listen({
 *   query: (event) => histogram.observe({ operation: event.operation }, event.durationMs / 1000),
 * });
 */
import type { DatabaseError } from "./errors.js";

export interface QueryEvent {
  /** The statement as sent: placeholders, never values. */
  readonly sql: string;
  /** Bound values, for the query log's opt-in `DATABASE_LOG_PARAMS` only. */
  readonly params: readonly unknown[];
  /**
   * A bounded name for the statement: the prepared statement's name when it has one
   * (`.prepare("user_by_id")`), else its kind (`select`, `insert`, `update`, `delete`, `copy`,
   * `with`, ...; see `operationOf`). Safe as a metric label or span name.
   */
  readonly operation: string;
  /** `Date.now()`-based start of the query (after any wait for a connection), for spans. */
  readonly startedAt: number;
  /** From sending the query to its last result; the wait for a connection is not included. */
  readonly durationMs: number;
  /** Rows returned, or affected for INSERT/UPDATE/DELETE/COPY; undefined when it failed. */
  readonly rows: number | undefined;
  /** The driver's error when the query failed (map it with `mapDatabaseError`). */
  readonly error?: unknown;
  /** Sent inside a transaction (on its reserved connection). */
  readonly inTransaction: boolean;
  /**
   * Sent as a named prepared statement, which the server keeps for the connection's life
   * (postgres.js with `DATABASE_PREPARE`, or a `.prepare(name)`d query); PGlite: always false.
   */
  readonly prepared: boolean;
  /** The read replica that ran it (its `host:port`); absent for the primary (replicas.ts). */
  readonly replica?: string;
}

/** A wait for a pooled connection (a root query or a transaction), once it ended. */
export interface PoolWaitEvent {
  readonly waitMs: number;
  /** `timeout`: the caller got `PoolTimeoutError`. */
  readonly outcome: "acquired" | "timeout";
}

/** A transaction or savepoint that ended. */
export interface TransactionEvent {
  readonly outcome: "commit" | "rollback";
  /** A savepoint (`withTransaction` on a `tx`, or Drizzle's nested `tx.transaction`). */
  readonly savepoint: boolean;
  readonly startedAt: number;
  readonly durationMs: number;
  /** The error that rolled it back, if any, as thrown (map it with `mapDatabaseError`). */
  readonly error?: unknown;
}

/** `withTransaction` is about to retry a serialization failure or deadlock. */
export interface RetryEvent {
  readonly error: DatabaseError;
  /** The attempt that failed (1 for the first). */
  readonly attempt: number;
}

export interface DatabaseListener {
  query?(event: QueryEvent): void;
  poolWait?(event: PoolWaitEvent): void;
  transaction?(event: TransactionEvent): void;
  retry?(event: RetryEvent): void;
}

/**
 * A snapshot of the connection pool, from `database.poolStats()`. The connection counts are
 * null where the template can't see the sockets: a multi-host `DATABASE_URL`, where postgres.js
 * opens its own to rotate through the hosts.
 */
export interface PoolStats {
  readonly driver: "postgres" | "pglite";
  /** The pool's size limit (1 on PGlite: a single in-process connection). */
  readonly max: number;
  /** Connections open right now (1 on PGlite until closed). */
  readonly open: number | null;
  /** Open connections not serving a query or transaction. */
  readonly idle: number | null;
  /** Connections serving a query, or held by a transaction for its whole life. */
  readonly inUse: number;
  /**
   * Queries and transactions admitted right now; above `inUse` when queries share connections
   * (`DATABASE_PIPELINE`).
   */
  readonly inFlight: number;
  /** Callers waiting for a connection right now. */
  readonly waiting: number;
  /** The longest current wait, in ms (0 when nobody waits). */
  readonly longestWaitMs: number;
  /** Connections opened since start (socket connected). */
  readonly opened: number | null;
  /** Connections closed since start (idle timeout, max lifetime, server or network). */
  readonly closed: number | null;
  /** Connection attempts that failed since start. */
  readonly failed: number | null;
  /** Waits that ended in `PoolTimeoutError` since start. */
  readonly timeouts: number;
}

/** Statement kinds used as `operation` when a query has no name. */
const KINDS = new Set([
  "select",
  "insert",
  "update",
  "delete",
  "with",
  "copy",
  "declare",
  "fetch",
  "close",
  "begin",
  "commit",
  "rollback",
  "savepoint",
  "release",
  "set",
  "show",
  "values",
  "explain",
  "analyze",
  "vacuum",
  "lock",
  "listen",
  "notify",
  "unlisten",
  "create",
  "alter",
  "drop",
  "truncate",
  "grant",
  "revoke",
  "call",
  "do",
  "prepare",
  "execute",
  "deallocate",
  "discard",
  "reset",
  "start",
  "end",
  "abort",
  "merge",
  "refresh",
  "reindex",
  "comment",
  "cluster",
  "checkpoint",
]);

/**
 * The statement kind of `sql`: its first keyword when it is a known one, else `other`, so that
 * the set of names is bounded whatever SQL an application sends.
 *
 * @example
 * operationOf("  SELECT 1"); // "select"
 * operationOf("/* x *\/ insert into t values ($1)"); // "insert"
 * operationOf("frobnicate"); // "other"
 */
export function operationOf(sql: string): string {
  const match = /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/|\()*([a-zA-Z]+)/.exec(sql);
  const word = match?.[1]?.toLowerCase();
  return word !== undefined && KINDS.has(word) ? word : "other";
}

/**
 * The listeners of one database. `emit` never throws: a listener's failure is reported once
 * through `onListenerError` and the listener keeps being called.
 */
export class DatabaseEvents {
  private listeners: DatabaseListener[] = [];
  private readonly reported = new WeakSet<DatabaseListener>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  get active(): boolean {
    return this.listeners.length > 0;
  }

  listen(listener: DatabaseListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit<K extends keyof DatabaseListener>(
    kind: K,
    event: Parameters<NonNullable<DatabaseListener[K]>>[0],
  ): void {
    for (const listener of this.listeners) {
      const handler = listener[kind] as ((event: unknown) => void) | undefined;
      if (!handler) continue;
      try {
        handler.call(listener, event);
      } catch (error) {
        if (this.reported.has(listener)) continue;
        this.reported.add(listener);
        this.onListenerError(error);
      }
    }
  }
}
