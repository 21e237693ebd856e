/**
 * The template's own admission to the connection pool: at most `max` callers hold a connection
 * at once (a query on the root db holds one while it runs, a transaction for its whole life), the
 * rest wait in FIFO order for at most `timeoutMs`, then get `PoolTimeoutError`.
 *
 * Why our own gate in front of postgres.js's pool: postgres.js has no bound on the wait for a
 * connection (a query waits forever behind a saturated pool; a transaction callback that queries
 * the root db deadlocks itself, porsager/postgres#893), no statistics, and when every connection
 * is busy it pipelines more queries onto them, behind whatever slow query each one runs. With
 * this gate the driver never has more callers than connections, so each admitted caller finds a
 * connection of its own, and the gate is where waiting is bounded, counted and measured: all
 * through documented behaviour (`max`, `sql.begin`), nothing of postgres.js's internals.
 *
 * @example
 * const gate = new PoolGate({ max: 10, timeoutMs: 5_000 });
 * const lease = await gate.acquire("query");
 * try { await runQuery(); } finally { lease.release(); }
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { PoolTimeoutError } from "./errors.js";

export type LeaseKind = "query" | "transaction";

export interface Lease {
  /** Idempotent: hands the connection back to the next waiter. */
  release(): void;
}

export interface GateOptions {
  max: number;
  timeoutMs: number;
  /** Called when a wait ends, admitted or timed out (metrics). */
  onWait?: (waitMs: number, outcome: "acquired" | "timeout") => void;
}

export interface GateStats {
  max: number;
  inUse: number;
  waiting: number;
  longestWaitMs: number;
  timeouts: number;
}

interface Waiter {
  readonly kind: LeaseKind;
  readonly since: number;
  /** `performance.now()` after which the waiter gets `PoolTimeoutError`. */
  readonly deadline: number;
  readonly timeoutMs: number;
  admit(): void;
  expire(): void;
}

/**
 * A per-call override of the wait bound, see `withPoolTimeout`. AsyncLocalStorage is opt-in here:
 * only a process that calls `withPoolTimeout` pays for its promise hooks.
 */
const timeoutOverride = new AsyncLocalStorage<number>();

/**
 * Runs `work` with another bound on the wait for a connection, for the transactions and queries
 * it starts (a batch job may rather wait longer than a request).
 *
 * @example
 * await withPoolTimeout(30_000, () => withTransaction(db, nightlyRollup));
 */
export function withPoolTimeout<T>(timeoutMs: number, work: () => Promise<T>): Promise<T> {
  return timeoutOverride.run(timeoutMs, work);
}

export class PoolGate {
  readonly max: number;
  private inUse = 0;
  private transactions = 0;
  private timeouts = 0;
  /** FIFO; a timed-out waiter is removed, so its slot never reaches it. */
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: GateOptions) {
    if (!Number.isInteger(options.max) || options.max < 1) {
      throw new RangeError("the pool gate needs max >= 1");
    }
    this.max = options.max;
  }

  /** Resolves with a lease once a connection is free; rejects with `PoolTimeoutError`. */
  acquire(kind: LeaseKind): Promise<Lease> {
    if (this.inUse < this.max && this.waiters.length === 0) {
      this.take(kind);
      this.options.onWait?.(0, "acquired");
      return Promise.resolve(new GateLease(this, kind));
    }
    const timeoutMs = timeoutOverride.getStore() ?? this.options.timeoutMs;
    return new Promise<Lease>((resolve, reject) => {
      const since = performance.now();
      this.waiters.push({
        kind,
        since,
        deadline: since + timeoutMs,
        timeoutMs,
        admit: () => {
          this.take(kind);
          this.options.onWait?.(performance.now() - since, "acquired");
          resolve(new GateLease(this, kind));
        },
        expire: () => {
          this.timeouts++;
          this.options.onWait?.(performance.now() - since, "timeout");
          reject(this.timeoutError(timeoutMs));
        },
      });
      if (this.timer === undefined) this.arm(since + timeoutMs);
    });
  }

  /** @internal Called by a lease: hands the connection to the next waiter. */
  release(kind: LeaseKind) {
    this.inUse--;
    if (kind === "transaction") this.transactions--;
    this.waiters.shift()?.admit();
    // Nobody left to time out: don't keep the process alive for a timer with nothing to do.
    if (this.waiters.length === 0 && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /**
   * One timer for all waiters, armed for the earliest deadline, rather than one per waiter: a
   * saturated pool queues a waiter for most queries, and a timer each (created, then cleared
   * when admitted) was the gate's main cost per query. A waiter admitted before its deadline
   * is simply gone from the queue when the timer fires.
   */
  private arm(deadline: number) {
    this.timer = setTimeout(() => this.expireDue(), Math.max(0, deadline - performance.now()));
  }

  private expireDue() {
    this.timer = undefined;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    // Deadlines differ only under `withPoolTimeout`, so this walk is rare and short.
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i] as Waiter;
      if (waiter.deadline <= now) {
        this.waiters.splice(i, 1);
        waiter.expire();
      } else {
        next = Math.min(next, waiter.deadline);
        i++;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }

  stats(): GateStats {
    const oldest = this.waiters[0];
    return {
      max: this.max,
      inUse: this.inUse,
      waiting: this.waiters.length,
      longestWaitMs: oldest ? Math.round(performance.now() - oldest.since) : 0,
      timeouts: this.timeouts,
    };
  }

  private take(kind: LeaseKind) {
    this.inUse++;
    if (kind === "transaction") this.transactions++;
  }

  /**
   * Only a heuristic: transactions holding every connection may just be slow. But when a callback
   * waits on the root db, they are what it waits for, and the hint names the fix.
   */
  private timeoutError(waitedMs: number) {
    return new PoolTimeoutError(
      waitedMs,
      this.transactions >= this.max
        ? `every connection (${this.max}) is held by a transaction callback; a callback that ` +
            "queries through the root db instead of its tx waits for them forever"
        : undefined,
    );
  }
}

/** A held connection; `release` is idempotent. */
class GateLease implements Lease {
  private released = false;
  constructor(
    private readonly gate: PoolGate,
    private readonly kind: LeaseKind,
  ) {}

  release() {
    if (this.released) return;
    this.released = true;
    this.gate.release(this.kind);
  }
}
