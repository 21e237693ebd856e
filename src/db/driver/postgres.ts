/**
 * The postgres.js client Drizzle talks to: the pool's documented API (`unsafe`, `begin`,
 * `savepoint`, `.values()`, `.writable()`) behind the template's pool gate, timed and reported.
 * Drizzle's postgres-js driver uses exactly `unsafe(text, params, { prepare })` (awaited, or
 * `.values()`), `begin(callback)`, a transaction's `savepoint(callback)` and the pool's
 * `options.parsers` / `options.serializers`; `checkDrizzleDriverShape` (internals/drizzle.ts)
 * verifies that at start-up, so a Drizzle release that calls something else fails loudly.
 *
 * Nothing of postgres.js is patched: the pool itself stays an ordinary `postgres()` client.
 */
import type { Writable } from "node:stream";
import type postgres from "postgres";
import { TransactionEndedError } from "../errors.js";
import type { Lease } from "../pool-gate.js";
import { type DriverContext, reportQuery, reportTransaction, shouldPrepare } from "./context.js";
import {
  type ConnectionActivity,
  InstrumentedQuery,
  newActivity,
  recordIdleBeforeLoss,
  rowCount,
  type TransactionScope,
  unlessReleased,
} from "./instrumented-query.js";

type Params = readonly unknown[];
type UnsafeOptions = { prepare?: boolean; [option: string]: unknown };
type RawClient = postgres.Sql | postgres.TransactionSql;

/** The pool as Drizzle sees it (`db.$client`). */
export interface InstrumentedPostgres {
  readonly options: postgres.Sql["options"];
  unsafe(text: string, params?: Params, options?: UnsafeOptions): InstrumentedQuery;
  begin<T>(callback: (tx: InstrumentedPostgresTransaction) => T | Promise<T>): Promise<T>;
  begin<T>(
    mode: string,
    callback: (tx: InstrumentedPostgresTransaction) => T | Promise<T>,
  ): Promise<T>;
}

/** A transaction's (or savepoint's) client as Drizzle sees it. */
export interface InstrumentedPostgresTransaction {
  unsafe(text: string, params?: Params, options?: UnsafeOptions): InstrumentedQuery;
  savepoint<T>(callback: (tx: InstrumentedPostgresTransaction) => T | Promise<T>): Promise<T>;
  savepoint<T>(
    name: string,
    callback: (tx: InstrumentedPostgresTransaction) => T | Promise<T>,
  ): Promise<T>;
  /**
   * `COPY ... FROM STDIN` on this transaction's connection (postgres.js `.writable()`), reported
   * like any query once the stream has finished or failed.
   */
  copyFrom(command: string, rows: number): Promise<Writable>;
}

export function instrumentPostgres(
  pool: postgres.Sql,
  context: DriverContext,
): InstrumentedPostgres {
  const begin = (...args: unknown[]) => {
    const callback = args.at(-1) as (tx: InstrumentedPostgresTransaction) => unknown;
    const mode = args.length > 1 ? String(args[0]) : undefined;
    return runTransaction(pool, context, mode, callback);
  };
  return {
    options: pool.options,
    unsafe: (text, params = [], options) =>
      new InstrumentedQuery((values) => {
        const run = (lease: Lease) =>
          runQuery(pool, context, undefined, text, params, options, values, lease);
        const lease = context.gate.tryAcquire("query");
        return lease ? run(lease) : context.gate.acquire("query").then(run);
      }),
    begin: begin as InstrumentedPostgres["begin"],
  };
}

async function runTransaction(
  pool: postgres.Sql,
  context: DriverContext,
  mode: string | undefined,
  callback: (tx: InstrumentedPostgresTransaction) => unknown,
) {
  const lease = await context.gate.acquire("transaction");
  const startedAt = Date.now();
  const started = performance.now();
  const connection = newActivity();
  const scope: TransactionScope = { ended: false, connection };
  const body = (tx: postgres.TransactionSql) =>
    unlessReleased(callback(transactionClient(tx, context, scope)), connection);
  let begun: Promise<unknown>;
  try {
    begun = mode === undefined ? pool.begin(body) : pool.begin(mode, body);
  } catch (error) {
    lease.release();
    throw error;
  }
  // Marked as soon as postgres.js lets go of the connection (a few microtasks before the caller
  // hears of it), so a callback stranded by a lost connection is refused at once.
  const release = () => {
    connection.released = true;
    scope.ended = true;
    lease.release();
  };
  begun.then(release, (error: unknown) => {
    recordIdleBeforeLoss(error, connection);
    release();
  });
  try {
    const result = await begun;
    reportTransaction(context, startedAt, started);
    return result;
  } catch (error) {
    reportTransaction(context, startedAt, started, error);
    throw error;
  }
}

function transactionClient(
  tx: postgres.TransactionSql,
  context: DriverContext,
  scope: TransactionScope,
): InstrumentedPostgresTransaction {
  const savepoint = (...args: unknown[]) => {
    if (isOver(scope)) return Promise.reject(new TransactionEndedError());
    const callback = args.at(-1) as (tx: InstrumentedPostgresTransaction) => unknown;
    const inner: TransactionScope = { ended: false, connection: scope.connection };
    const body = (child: postgres.TransactionSql) =>
      unlessReleased(callback(transactionClient(child, context, inner)), scope.connection);
    const done = args.length > 1 ? tx.savepoint(String(args[0]), body) : tx.savepoint(body);
    return done.finally(() => {
      inner.ended = true;
    });
  };
  return {
    unsafe: (text, params = [], options) =>
      new InstrumentedQuery((values) => {
        if (isOver(scope)) return Promise.reject(new TransactionEndedError());
        return runQuery(tx, context, scope.connection, text, params, options, values);
      }),
    savepoint: savepoint as InstrumentedPostgresTransaction["savepoint"],
    copyFrom: (command, rows) => copyFrom(tx, context, scope, command, rows),
  };
}

/** A savepoint outlives its transaction's connection when that is lost mid-savepoint. */
const isOver = (scope: TransactionScope) => scope.ended || scope.connection.released;

async function runQuery(
  client: RawClient,
  context: DriverContext,
  activity: ConnectionActivity | undefined,
  text: string,
  params: Params,
  options: UnsafeOptions | undefined,
  values: boolean,
  /** The pool gate's admission of a root query, handed back once it has settled. */
  lease?: Lease,
) {
  // Drizzle sends `prepare: false` unless the query was `.prepare(name)`d (ADR 0003).
  const prepare = options?.prepare || (context.prepare && shouldPrepare(text, params));
  const startedAt = Date.now();
  const started = performance.now();
  if (activity) activity.inFlight++;
  try {
    const query = client.unsafe(text, params as postgres.ParameterOrJSON<never>[], {
      ...options,
      prepare,
    });
    const result: unknown = await (values ? query.values() : query);
    reportQuery(context, text, params, startedAt, started, !!activity, prepare, rowCount(result));
    return result;
  } catch (error) {
    reportQuery(context, text, params, startedAt, started, !!activity, prepare, undefined, error);
    throw error;
  } finally {
    lease?.release();
    if (activity) {
      activity.inFlight--;
      activity.idleSince = performance.now();
    }
  }
}

async function copyFrom(
  tx: postgres.TransactionSql,
  context: DriverContext,
  scope: TransactionScope,
  command: string,
  rows: number,
): Promise<Writable> {
  if (isOver(scope)) throw new TransactionEndedError();
  const { connection } = scope;
  const startedAt = Date.now();
  const started = performance.now();
  connection.inFlight++;
  let settled = false;
  const settle = (error?: unknown) => {
    if (settled) return;
    settled = true;
    connection.inFlight--;
    connection.idleSince = performance.now();
    const count = error ? undefined : rows;
    reportQuery(context, command, [], startedAt, started, true, false, count, error);
  };
  try {
    const stream = await tx.unsafe(command).writable();
    stream.once("finish", () => settle());
    stream.once("error", (error) => settle(error));
    stream.once("close", () => settle(new Error("COPY stream closed before it finished")));
    return stream;
  } catch (error) {
    settle(error);
    throw error;
  }
}
