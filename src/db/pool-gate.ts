/**
 * The template's own admission to the connection pool: at most `max × depth` queries run at once
 * (`depth` per connection, pipelined by postgres.js), a transaction holds a whole connection's
 * worth (`depth`) for its life, and the rest wait in FIFO order for at most `timeoutMs`, then
 * get `PoolTimeoutError`.
 *
 * Why our own gate in front of postgres.js's pool: postgres.js has no bound on the wait for a
 * connection (a query waits forever behind a saturated pool; a transaction callback that queries
 * the root db deadlocks itself, porsager/postgres#893) and no statistics, and when every
 * connection is busy it pipelines up to 100 queries onto each, behind whatever slow query each
 * one runs. The gate keeps what pays of pipelining (several queries per network write and round
 * trip; `DATABASE_PIPELINE`, 1 turns it off) and bounds the rest: with at most `depth` queries
 * per connection admitted, and a transaction counted as a full connection, postgres.js always
 * has a connection with room, so no admitted caller waits inside postgres.js where nothing
 * times out. Waiting happens here, bounded, counted and measured.
 *
 * @example
 * const gate = new PoolGate({ max: 10, depth: 4, timeoutMs: 5_000 });
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
  /** Connections. */
  max: number;
  /** Queries admitted per connection (pipelined by postgres.js); 1 = one query per connection. */
  depth?: number;
  timeoutMs: number;
  /** Called when a wait ends, admitted or timed out (metrics). */
  onWait?: (waitMs: number, outcome: "acquired" | "timeout") => void;
}

export interface GateStats {
  max: number;
  /** Connections serving a query or held by a transaction. */
  inUse: number;
  /** Queries and transactions admitted (more than `inUse` when queries are pipelined). */
  inFlight: number;
  waiting: number;
  longestWaitMs: number;
  timeouts: number;
}

interface Waiter {
  readonly kind: LeaseKind;
  /** What it takes of the gate's capacity: 1 for a query, `depth` for a transaction. */
  readonly permits: number;
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
  readonly depth: number;
  /** `max × depth`: what all admitted callers may take together. */
  private readonly capacity: number;
  private used = 0;
  private queries = 0;
  private transactions = 0;
  private timeouts = 0;
  /** FIFO; a timed-out waiter is removed, so its slot never reaches it. */
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: GateOptions) {
    if (!Number.isInteger(options.max) || options.max < 1) {
      throw new RangeError("the pool gate needs max >= 1");
    }
    const depth = options.depth ?? 1;
    if (!Number.isInteger(depth) || depth < 1) {
      throw new RangeError("the pool gate needs depth >= 1");
    }
    this.max = options.max;
    this.depth = depth;
    this.capacity = options.max * depth;
  }

  private permitsOf(kind: LeaseKind) {
    return kind === "transaction" ? this.depth : 1;
  }

  /**
   * A lease at once when a connection has room and nobody waits, else undefined (then
   * `acquire`). Lets the common case skip a promise per query.
   */
  tryAcquire(kind: LeaseKind): Lease | undefined {
    if (this.used + this.permitsOf(kind) > this.capacity || this.waiters.length > 0) {
      return undefined;
    }
    this.take(kind);
    this.options.onWait?.(0, "acquired");
    return new GateLease(this, kind);
  }

  /** Resolves with a lease once a connection is free; rejects with `PoolTimeoutError`. */
  acquire(kind: LeaseKind): Promise<Lease> {
    const now = this.tryAcquire(kind);
    if (now) return Promise.resolve(now);
    const permits = this.permitsOf(kind);
    const timeoutMs = timeoutOverride.getStore() ?? this.options.timeoutMs;
    return new Promise<Lease>((resolve, reject) => {
      const since = performance.now();
      this.waiters.push({
        kind,
        permits,
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
    this.used -= this.permitsOf(kind);
    if (kind === "transaction") this.transactions--;
    else this.queries--;
    this.admitWaiting();
    // Nobody left to time out: don't keep the process alive for a timer with nothing to do.
    if (this.waiters.length === 0 && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /**
   * FIFO: a transaction at the head waits for a whole connection's worth; queries behind it wait
   * with it rather than starve it.
   */
  private admitWaiting() {
    for (let head = this.waiters[0]; head && this.used + head.permits <= this.capacity; ) {
      this.waiters.shift();
      head.admit();
      head = this.waiters[0];
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
    // An expired transaction at the head may have held back queries that fit.
    this.admitWaiting();
    if (next !== Number.POSITIVE_INFINITY && this.waiters.length > 0) this.arm(next);
  }

  stats(): GateStats {
    const oldest = this.waiters[0];
    // postgres.js gives a query an idle connection before it pipelines onto a busy one.
    const inUse = this.transactions + Math.min(this.queries, this.max - this.transactions);
    return {
      max: this.max,
      inUse,
      inFlight: this.queries + this.transactions,
      waiting: this.waiters.length,
      longestWaitMs: oldest ? Math.round(performance.now() - oldest.since) : 0,
      timeouts: this.timeouts,
    };
  }

  private take(kind: LeaseKind) {
    this.used += this.permitsOf(kind);
    if (kind === "transaction") this.transactions++;
    else this.queries++;
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
