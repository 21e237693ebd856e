/**
 * The query object the instrumented clients hand to Drizzle: lazy like postgres.js's own
 * (nothing runs until it is awaited), with the one modifier Drizzle uses, `.values()`. Running
 * it goes through the client's `run`, which waits for a connection, times the query and reports
 * it, then calls the driver's documented API.
 */
export class InstrumentedQuery<T = unknown> implements PromiseLike<T> {
  #values = false;
  #result: Promise<T> | undefined;

  constructor(private readonly run: (values: boolean) => Promise<T>) {}

  /** Rows as arrays of values (postgres.js `.values()`), as Drizzle asks for selects. */
  values(): this {
    this.#values = true;
    return this;
  }

  // biome-ignore lint/suspicious/noThenProperty: a lazy query is a thenable by design, as in postgres.js.
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.#result ??= this.run(this.#values);
    return this.#result.then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null) {
    return this.then(undefined, onrejected);
  }

  finally(onfinally?: (() => void) | null) {
    this.#result ??= this.run(this.#values);
    return this.#result.finally(onfinally);
  }
}

/** postgres.js `Result` (an array with `count`), or one per statement of a multi-statement query. */
export function rowCount(value: unknown): number | undefined {
  if (!Array.isArray(value)) return undefined;
  const single = (result: unknown[] & { count?: unknown }) =>
    typeof result.count === "number" ? result.count : result.length;
  if (value.length > 0 && value.every((item) => Array.isArray(item) && "command" in item)) {
    return (value as (unknown[] & { count?: unknown })[]).reduce((sum, r) => sum + single(r), 0);
  }
  return single(value);
}

/**
 * The connection a transaction holds, as its queries see it: for recognising a connection the
 * server closed because the transaction sat idle past `idle_in_transaction_session_timeout`.
 */
export interface ConnectionActivity {
  /** The driver let go of the connection: committed, rolled back, or lost. */
  released: boolean;
  inFlight: number;
  idleSince: number;
}

export const newActivity = (): ConnectionActivity => ({
  released: false,
  inFlight: 0,
  idleSince: performance.now(),
});

/** A transaction or savepoint: ended once it committed or rolled back. */
export interface TransactionScope {
  ended: boolean;
  readonly connection: ConnectionActivity;
}

const idleBeforeLoss = new WeakMap<object, number>();

/** Records how long the transaction had been idle when its connection was lost with `error`. */
export function recordIdleBeforeLoss(error: unknown, activity: ConnectionActivity) {
  if (typeof error !== "object" || error === null || activity.inFlight > 0) return;
  idleBeforeLoss.set(error, performance.now() - activity.idleSince);
}

/**
 * How long (ms) the transaction that failed with `error` (or an error it wraps) had sent nothing
 * when it lost its connection; undefined when a statement was running or it wasn't a loss. The
 * server closes a session idle in a transaction past `idle_in_transaction_session_timeout` with a
 * FATAL that reaches no query (the client is idle), so the client sees only a closed connection:
 * this is how `withTransaction` tells that it was the timeout.
 */
export function idleMsBeforeLoss(error: unknown): number | undefined {
  for (let e = error, depth = 0; e && depth < 5; depth++) {
    if (typeof e !== "object") return undefined;
    const idle = idleBeforeLoss.get(e);
    if (idle !== undefined) return idle;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A transaction callback that outlives its connection must never settle towards the driver:
 * postgres.js `begin` stops waiting for its callback when the connection closes, but still sends
 * ROLLBACK (or COMMIT) once that callback settles, to a socket that is gone or, after a
 * reconnect, to a session now serving another caller. Its queries are refused with
 * `TransactionEndedError` meanwhile.
 */
export function unlessReleased(result: unknown, connection: ConnectionActivity) {
  // postgres.js awaits an array of queries with Promise.all; keep that behaviour.
  const work = Array.isArray(result) ? Promise.all(result) : Promise.resolve(result);
  const never = () => new Promise<never>(() => undefined);
  return work.then(
    (value) => (connection.released ? never() : value),
    (error: unknown) => (connection.released ? never() : Promise.reject(error)),
  );
}
