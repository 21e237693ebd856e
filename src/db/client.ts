/**
 * The one owner of the database connection: builds the schema-aware Drizzle instance from
 * config, and is the only thing that can close it. Nothing connects at import time.
 *
 * - `postgres://` URL -> a postgres.js pool (TLS, timeouts, application_name per config);
 * - no URL            -> embedded PGlite (a WASM PostgreSQL in this process), for zero setup.
 *
 * Both drivers are instrumented once, below Drizzle, so that every query — from `db`, from a
 * transaction's `tx`, from `database.sql` / `database.pglite` — gets the same treatment:
 * - timed and reported to the query log / metrics (`query-log.ts`);
 * - a bounded wait for a connection: `PoolTimeoutError` after `DATABASE_POOL_TIMEOUT` instead of
 *   queueing forever (the self-deadlock of porsager/postgres#893);
 * - refused with `TransactionEndedError` when sent through a transaction that has ended;
 * - prepared as a named statement when that pays off (`DATABASE_PREPARE`, ADR 0003).
 *
 * @example
 * const database = await createDatabase(config.database, { logger });
 * const rows = await database.db.select().from(users).limit(10);
 * await database.close();
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdirSync } from "node:fs";
import { connect as connectSocket, type Socket } from "node:net";
import { Stream } from "node:stream";
import { PGlite, type Results, type Transaction } from "@electric-sql/pglite";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import type { DatabaseConfig } from "../env.js";
import type { Logger } from "../logger.js";
import {
  ConnectionError,
  DatabaseTimeoutError,
  mapDatabaseError,
  PoolTimeoutError,
  TransactionEndedError,
} from "./errors.js";
import { createQueryObserver, type QueryMetricsSnapshot, type QueryObserver } from "./query-log.js";
import * as schema from "./schema/index.js";

export type Schema = typeof schema;
/** The Drizzle instance the app uses; the same type for postgres.js and PGlite. */
export type AppDatabase = PgDatabase<PgQueryResultHKT, Schema>;
export type AppTransaction = PgTransaction<
  PgQueryResultHKT,
  Schema,
  ExtractTablesWithRelations<Schema>
>;

export interface Database {
  readonly db: AppDatabase;
  readonly driver: "postgres" | "pglite";
  /** The postgres.js pool (COPY, cursors, LISTEN), logged and guarded like `db`; undefined on PGlite. */
  readonly sql: postgres.Sql | undefined;
  /** The embedded database, logged and guarded like `db`; undefined on postgres.js. */
  readonly pglite: PGlite | undefined;
  readonly config: DatabaseConfig;
  /** `SELECT 1` bounded by `timeoutMs`; rejects with a typed error, never hangs. */
  ping(timeoutMs?: number): Promise<{ latencyMs: number }>;
  /** Counters and a latency histogram of every query sent so far. */
  queryMetrics(): QueryMetricsSnapshot;
  /** Waits up to `timeoutSeconds` for running queries, then closes every connection. */
  close(timeoutSeconds?: number): Promise<void>;
}

export interface CreateDatabaseOptions {
  logger?: Logger | undefined;
  /** Overrides `poolMax` (migrations use a single dedicated connection). */
  max?: number;
}

/**
 * Statements with more parameters than this are never prepared: they are bulk writes whose
 * text varies with the row count, so a named statement would be parsed once, used once and
 * kept by the server for the connection's lifetime (ADR 0003).
 */
export const MAX_PREPARED_PARAMETERS = 100;

/**
 * Builds the postgres.js options from config; exported for tools that need their own pool.
 *
 * @example
 * const sql = postgres(config.url, { ...postgresOptions(config), max: 1 });
 */
export function postgresOptions(
  config: DatabaseConfig,
  logger?: Logger,
): postgres.Options<Record<string, postgres.PostgresType>> {
  const multiHost = config.url !== undefined && new URL(config.url).host.includes(",");
  return {
    // An option postgres.js supports but doesn't declare in its types.
    ...(multiHost ? {} : ({ socket: noDelaySocket } as object)),
    max: config.poolMax,
    idle_timeout: config.idleTimeoutSeconds,
    max_lifetime: config.maxLifetimeSeconds || null,
    connect_timeout: config.connectTimeoutSeconds,
    prepare: config.prepare,
    ssl:
      config.ssl === "disable"
        ? false
        : config.ssl === "require"
          ? "require"
          : { rejectUnauthorized: true, ...(config.sslCa ? { ca: config.sslCa } : {}) },
    connection: {
      application_name: config.applicationName,
      ...(config.statementTimeoutMs > 0 ? { statement_timeout: config.statementTimeoutMs } : {}),
    },
    onnotice: (notice) => logger?.debug({ notice: notice.message }, "postgres notice"),
  };
}

/** postgres.js's resolved options, as it hands them to a `socket` factory. */
interface SocketTarget {
  host: string[];
  port: number[];
  path: string | false;
}

/**
 * postgres.js leaves Nagle's algorithm on (libpq, pgjdbc and PgBouncer turn it off), so a small
 * write right after another — COPY's CopyDone after its data — waits for the server's delayed
 * ACK: 40 ms on Linux, for every COPY and for the query after it. This factory is postgres.js's
 * own socket with TCP_NODELAY. It returns the socket still connecting (writes queue until it
 * is up), so connect_timeout, errors and reconnects take postgres.js's usual path. Single host
 * only: postgres.js rotates through several hosts itself.
 */
function noDelaySocket({ host, port, path }: SocketTarget): Socket {
  const [hostname] = host;
  const [portNumber = 5432] = port;
  const socket = path
    ? connectSocket({ path })
    : connectSocket({ host: hostname, port: portNumber, noDelay: true });
  // postgres.js reads these for TLS (SNI) and for its error messages.
  return Object.assign(socket, { host: hostname, port: portNumber });
}

export async function createDatabase(
  config: DatabaseConfig,
  options: CreateDatabaseOptions = {},
): Promise<Database> {
  const { logger } = options;
  const observer = createQueryObserver(config, logger);
  if (config.driver === "postgres") {
    if (!config.url) throw new Error("database.url is required for the postgres driver");
    const pool = postgres(config.url, {
      ...postgresOptions(config, logger),
      ...(options.max ? { max: options.max } : {}),
    });
    const sql = instrumentPostgres(pool, {
      observer,
      poolTimeoutMs: config.poolTimeoutMs,
      prepare: config.prepare,
      usage: { max: pool.options.max, transactions: 0 },
    });
    return {
      db: drizzlePostgres(sql, { schema }) as unknown as AppDatabase,
      driver: "postgres",
      sql,
      pglite: undefined,
      config,
      // Health checks are not application queries: they stay out of the log and the metrics.
      ping: (timeoutMs = 1000) => pingPostgres(sql, timeoutMs),
      queryMetrics: () => observer.metrics(),
      close: (timeoutSeconds = 5) => pool.end({ timeout: timeoutSeconds }),
    };
  }

  const dataDir = config.pgliteDataDir;
  if (!dataDir.startsWith("memory://")) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir);
  // Health checks are not application queries: they stay out of the log and the metrics.
  const ping = pglite.query.bind(pglite);
  instrumentPglite(pglite, {
    observer,
    poolTimeoutMs: config.poolTimeoutMs,
    // One connection; the pool guard's hint counts the transactions holding it.
    usage: { max: 1, transactions: 0 },
  });
  let closed = false;
  return {
    db: drizzlePglite(pglite, { schema }) as unknown as AppDatabase,
    driver: "pglite",
    sql: undefined,
    pglite,
    config,
    ping: (timeoutMs = 1000) =>
      withDeadline(
        ping("select 1").then(() => undefined),
        timeoutMs,
      ),
    queryMetrics: () => observer.metrics(),
    close: async () => {
      if (closed) return;
      closed = true;
      await pglite.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Transactions: what a transaction's connection is doing, and how many connections they hold.
//
// None of this uses AsyncLocalStorage. On Node 20 the first `als.run()` turns on promise hooks
// for the whole process, and every promise and nextTick pays for them from then on (about a fifth
// of the demo API's GET throughput). So the state travels with the transaction's client instead,
// and the pool guard counts transactions rather than asking whether the caller is inside one.

interface TransactionScope {
  /** Set when the transaction (or savepoint) has committed or rolled back. */
  ended: boolean;
  /** postgres.js only; shared by a transaction and its savepoints: they use one connection. */
  connection?: ReservedConnection;
}

/** A postgres.js connection reserved by `begin`, as seen from its queries. */
interface ReservedConnection {
  /** `begin` has settled: committed, rolled back, or gave up when the connection closed. */
  released: boolean;
  inFlight: number;
  idleSince: number;
}

/**
 * How many of one database's connections transactions hold right now, for the pool guard's
 * message: a wait that times out while transactions hold every connection is most likely the
 * self-deadlock of a callback querying through the root db (porsager/postgres#893).
 */
interface ConnectionUsage {
  readonly max: number;
  /** Transactions that have their connection and have not settled yet (savepoints excluded). */
  transactions: number;
}

/** The key under which an instrumented postgres.js transaction client answers with its scope. */
const SCOPE: unique symbol = Symbol("transaction scope");

/**
 * A per-call override of `poolTimeoutMs`, see `withPoolTimeout`. Still AsyncLocalStorage: it is
 * opt-in, so only a process that asks for another bound pays the promise hooks.
 */
const poolTimeoutOverride = new AsyncLocalStorage<number>();

/** What a transaction's connection has been doing; see `transactionActivity`. */
export interface TransactionActivity {
  /** Milliseconds since the transaction's last statement settled; 0 while one is running. */
  idleMs(): number;
}

/**
 * The activity of the connection behind `tx` (a transaction's or a savepoint's: they share it);
 * undefined on PGlite. The server closes a connection that stays idle in a transaction past
 * `idle_in_transaction_session_timeout` without telling the client why (postgres.js drops the
 * unsolicited FATAL): the idle time tells `withTransaction` that a dropped connection was that
 * timeout.
 *
 * @example
 * const activity = transactionActivity(tx);
 * activity?.idleMs(); // 0 while a statement runs, else ms since the last one settled
 */
export function transactionActivity(tx: AppTransaction): TransactionActivity | undefined {
  // Drizzle (0.45) runs `tx`'s queries on `session.client`: for postgres.js the transaction's or
  // savepoint's client, which `instrumentPostgres` gave its SCOPE; for PGlite its transaction
  // object, which has no SCOPE. The field is undeclared in Drizzle's base session type.
  const client = (tx._.session as unknown as { client?: { [SCOPE]?: TransactionScope } }).client;
  const connection = client?.[SCOPE]?.connection;
  if (!connection) return undefined;
  return {
    idleMs: () => (connection.inFlight > 0 ? 0 : performance.now() - connection.idleSince),
  };
}

/**
 * Runs `work` with another bound on the wait for a connection, for the transactions and queries
 * it starts (a batch job may rather wait longer than a request).
 *
 * @example
 * await withPoolTimeout(30_000, () => withTransaction(db, nightlyRollup));
 */
export function withPoolTimeout<T>(timeoutMs: number, work: () => Promise<T>): Promise<T> {
  return poolTimeoutOverride.run(timeoutMs, work);
}

/**
 * A bounded wait for exclusive use of a connection, for drivers that hand it to a callback
 * (postgres.js `begin`, PGlite's exclusive section). `acquire` must call `admit()` first thing
 * inside that callback. If the bound passes first, the caller gets `PoolTimeoutError` at once;
 * the request can't be withdrawn from the driver's queue, so when it is served later `admit()`
 * throws and the connection is handed straight back.
 */
async function waitForConnection<T>(
  timeoutMs: number,
  usage: ConnectionUsage,
  acquire: (admit: () => void) => Promise<T>,
): Promise<T> {
  let admitted = false;
  let abandoned = false;
  let timer: NodeJS.Timeout | undefined;
  const work = acquire(() => {
    if (abandoned) throw new PoolTimeoutError(timeoutMs);
    admitted = true;
    clearTimeout(timer);
  });
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      if (admitted) return;
      abandoned = true;
      reject(poolTimeout(timeoutMs, usage));
    }, timeoutMs);
  });
  // After abandonment `work` still settles (with the admit error): nobody awaits it any more.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Only a heuristic: transactions holding every connection may just be slow. But when a callback
 * waits on the root db, they are what it waits for, and the hint names the fix.
 */
function poolTimeout(waitedMs: number, usage: ConnectionUsage) {
  return new PoolTimeoutError(
    waitedMs,
    usage.transactions >= usage.max
      ? `every connection (${usage.max}) is held by a transaction callback; a callback that ` +
          "queries through the root db instead of its tx waits for them forever"
      : undefined,
  );
}

// ---------------------------------------------------------------------------------------------
// postgres.js

interface PostgresHooks {
  observer: QueryObserver;
  poolTimeoutMs: number;
  prepare: boolean;
  usage: ConnectionUsage;
}

/** The parts of postgres.js's Query (v3.4) the instrumentation relies on. */
interface QueryInternals {
  /** Sends the query: executes it on a connection, starts opening one for it, or queues it. */
  handler: (query: QueryInternals) => unknown;
  /** Called by `then`/`catch`/`finally`/`execute`: dispatches the query on its first call. */
  handle(): Promise<void>;
  executed: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  cancel(): unknown;
  /** Set once a connection has taken the query. */
  state: unknown;
  cancelled: unknown;
  strings: readonly string[];
  args: readonly unknown[];
  options: { prepare?: boolean; simple?: boolean; onexecute?: unknown; [key: string]: unknown };
  tagged: boolean;
  cursorFn: unknown;
  forEachFn: unknown;
  /** SQL text and parameters, set when the query is built for a connection. */
  string?: string;
  parameters?: unknown[];
}

/**
 * How queries are hooked: not by wrapping `unsafe` and the tagged-template call, but where
 * postgres.js dispatches every query, `Query.prototype.handle`, patched once per postgres.js
 * module. It hooks the queries whose `handler` (one per pool, one per transaction or savepoint
 * scope) was registered here, and leaves any other client's untouched.
 *
 * Why not a wrapper: Drizzle calling a wrapped `unsafe` made every query of a point read
 * survive the young-generation GC until the next full one, unless V8 happened to inline the
 * wrapper into Drizzle's call (a plain forwarding arrow: yes; one more branch: no). Per
 * scavenge, ~1 MiB promoted instead of nothing, 3.3 ms pauses instead of 0.9, and about a
 * sixth of the demo API's GET throughput (ADR 0007). Drizzle now calls postgres.js's own
 * `unsafe`.
 */
const registered = new WeakMap<QueryInternals["handler"], PostgresScope>();

interface PostgresScope {
  hooks: PostgresHooks;
  scope: TransactionScope | undefined;
}

const HOOKED = Symbol("query hooks installed");
/** Marks a query the hooks must leave alone (health checks). */
const UNTRACKED = Symbol("untracked query");

/** Registers the scope of `sql` (a pool, transaction or savepoint) for the hook. */
function register(sql: postgres.Sql | postgres.TransactionSql, scope: PostgresScope) {
  // An unsent query (queries are lazy) shows the scope's handler and the module's prototype.
  const probe = sql.unsafe("") as unknown as QueryInternals;
  registered.set(probe.handler, scope);
  const prototype = Object.getPrototypeOf(probe) as QueryInternals & { [HOOKED]?: true };
  if (Object.hasOwn(prototype, HOOKED)) return;
  const handle = prototype.handle;
  Object.defineProperty(prototype, HOOKED, { value: true });
  prototype.handle = function handleTracked(this: QueryInternals) {
    if (!this.executed) {
      const target = registered.get(this.handler);
      if (target && !(UNTRACKED in this) && !isTransactionControl(this)) {
        track(this, target.hooks, target.scope);
      }
    }
    return handle.call(this);
  };
}

/**
 * The statements postgres.js sends itself around a transaction callback (`begin` carries its
 * `onexecute`; the others are its own tagged templates): not the caller's queries, so neither
 * logged, counted nor refused, as before the hooks moved to dispatch.
 */
const TRANSACTION_CONTROL = new Set([
  "commit",
  "rollback",
  "rollback to ",
  "savepoint ",
  "prepare transaction '",
]);
const isTransactionControl = (query: QueryInternals) =>
  query.options.onexecute !== undefined ||
  (query.tagged && TRANSACTION_CONTROL.has(query.strings[0] ?? ""));

/**
 * Instruments a postgres.js `Sql` (the pool, a transaction's or a savepoint's) in place: its
 * queries — `unsafe` (what Drizzle calls), tagged templates, `file` — are hooked at dispatch;
 * the pool's `begin` and a transaction's `savepoint` instrument the clients they hand out. A
 * transaction's or savepoint's client also carries `SCOPE` (see `transactionActivity`).
 */
function instrumentPostgres<T extends postgres.Sql | postgres.TransactionSql>(
  sql: T,
  hooks: PostgresHooks,
  scope?: TransactionScope,
): T {
  register(sql, { hooks, scope });
  if (!scope) {
    const pool = sql as postgres.Sql;
    const begin = pool.begin.bind(pool);
    pool.begin = ((...args: unknown[]) =>
      beginTracked(begin, args, hooks)) as postgres.Sql["begin"];
    return sql;
  }
  const tx = sql as postgres.TransactionSql & { [SCOPE]?: TransactionScope };
  tx[SCOPE] = scope;
  const savepoint = tx.savepoint.bind(tx) as (...args: unknown[]) => Promise<unknown>;
  tx.savepoint = ((...args: unknown[]) => {
    const index = args.findIndex((arg) => typeof arg === "function");
    if (index < 0) return savepoint(...args);
    const callback = args[index] as (child: postgres.TransactionSql) => unknown;
    const inner: TransactionScope = { ended: false, connection: scope.connection };
    args[index] = (child: postgres.TransactionSql) =>
      unlessReleased(callback(instrumentPostgres(child, hooks, inner)), scope.connection);
    return savepoint(...args).finally(() => {
      inner.ended = true;
    });
  }) as postgres.TransactionSql["savepoint"];
  return sql;
}

/**
 * Drizzle only names (prepares) a statement when asked with `.prepare(name)`; ADR 0003 has why
 * we prepare the others too. Never a cursor's DECLARE: its text holds a per-call cursor name
 * (stream.ts), so a named statement for it would never be used again.
 */
const shouldPrepare = (text: string, params: readonly unknown[]) =>
  params.length > 0 && params.length <= MAX_PREPARED_PARAMETERS && !/^\s*declare\b/i.test(text);

/** `sql.begin` with the bounded wait for its connection and a tracked transaction client. */
function beginTracked(begin: postgres.Sql["begin"], args: unknown[], hooks: PostgresHooks) {
  const callback = args.at(-1) as (sql: postgres.TransactionSql) => unknown;
  const mode = args.length > 1 ? (args[0] as string) : "";
  const connection: ReservedConnection = {
    released: false,
    inFlight: 0,
    idleSince: performance.now(),
  };
  const scope: TransactionScope = { ended: false, connection };
  const timeoutMs = poolTimeoutOverride.getStore() ?? hooks.poolTimeoutMs;
  let holding = false;
  const release = () => {
    if (holding) hooks.usage.transactions--;
    holding = false;
    scope.ended = true;
    connection.released = true;
  };
  return waitForConnection(timeoutMs, hooks.usage, (admit) => {
    const begun = begin(mode, (tx) => {
      admit();
      holding = true;
      hooks.usage.transactions++;
      connection.idleSince = performance.now();
      return unlessReleased(callback(instrumentPostgres(tx, hooks, scope)), connection);
    });
    // Marked as soon as postgres.js lets go of the connection (a few microtasks before the
    // caller hears of it): a callback stranded by a lost connection may react at once.
    begun.then(release, release);
    return begun;
  });
}

/**
 * postgres.js `begin` stops waiting for its callback when the connection closes, but still
 * sends ROLLBACK (or COMMIT) once that callback settles — to a socket that is gone (an uncaught
 * TypeError) or, after a reconnect, to a session now serving another caller. So a callback that
 * outlives its connection is never settled towards postgres.js; its queries are refused with
 * `TransactionEndedError` meanwhile (see `track`).
 */
function unlessReleased(result: unknown, connection: ReservedConnection | undefined) {
  // postgres.js awaits an array of queries with Promise.all; keep that behaviour.
  const work = Array.isArray(result) ? Promise.all(result) : Promise.resolve(result);
  const never = () => new Promise<never>(() => undefined);
  return work.then(
    (value) => (connection?.released ? never() : value),
    (error: unknown) => (connection?.released ? never() : Promise.reject(error)),
  );
}

/**
 * Hooks one query as it is sent: postgres.js's `handle` calls the query's `handler` a microtask
 * later, and everything happens there.
 *
 * Every query of the process passes here, so the hooks are functions shared by all queries,
 * reaching their query's bookkeeping through `this` (postgres.js calls them as methods), rather
 * than a handful of closures per query: a point read spends measurably less time allocating.
 */
function track<Q>(query: Q, hooks: PostgresHooks, scope: TransactionScope | undefined): Q {
  const q = query as TrackedQuery;
  q[TRACKING] = { hooks, scope, dispatch: q.handler };
  q.handler = dispatchTracked;
  return query;
}

const TRACKING = Symbol("query tracking");

type TrackedQuery = QueryInternals & {
  [TRACKING]: { hooks: PostgresHooks; scope: TransactionScope | undefined; dispatch: Dispatch };
};
type Dispatch = QueryInternals["handler"];

/** What `track` knows of a query from its dispatch to its end. */
class QueryRun {
  readonly started = performance.now();
  observed = false;
  timedOut = false;
  timer: NodeJS.Timeout | undefined = undefined;
  copyStream: Stream.Writable | Stream.Readable | undefined = undefined;

  constructor(
    readonly query: QueryInternals,
    readonly hooks: PostgresHooks,
    readonly activity: ReservedConnection | undefined,
    readonly timeoutMs: number,
    /** postgres.js's own callbacks; a cursor replaces them on every batch. */
    public resolve: QueryInternals["resolve"],
    public reject: QueryInternals["reject"],
  ) {}

  settle(rows: number | undefined, error?: unknown) {
    clearTimeout(this.timer);
    if (this.observed) return;
    this.observed = true;
    const { activity, query } = this;
    if (activity) {
      activity.inFlight--;
      activity.idleSince = performance.now();
    }
    this.hooks.observer.observe({
      sql: query.string ?? query.strings.join("?"),
      params: query.parameters ?? query.args,
      durationMs: performance.now() - this.started,
      rows,
      error,
    });
  }

  resolved(value: unknown) {
    // COPY resolves twice: with its stream when the server is ready for data, then with the
    // command's result when it completes. Only the second is the query's end.
    if (value instanceof Stream.Writable || value instanceof Stream.Readable) {
      this.copyStream = value;
    } else this.settle(rowCount(value));
    this.resolve(value);
  }

  rejected(error: unknown) {
    const final = this.timedOut ? poolTimeout(this.timeoutMs, this.hooks.usage) : error;
    this.settle(undefined, final);
    // A COPY FROM STDIN that fails after its last row (a unique violation found at the end)
    // rejects only the query, which already resolved with the stream: postgres.js has dropped
    // the stream, whose `finish` would never come. Fail it instead.
    this.copyStream?.destroy(final instanceof Error ? final : undefined);
    this.reject(final);
  }
}

const RUN = Symbol("query run");
type RunningQuery = QueryInternals & { [RUN]: QueryRun };

function resolveTracked(this: RunningQuery, value: unknown) {
  this[RUN].resolved(value);
}

function rejectTracked(this: RunningQuery, error: unknown) {
  this[RUN].rejected(error);
}

/** The query's `handler`, which postgres.js calls (`this.handler(this)`) to send it. */
function dispatchTracked(this: TrackedQuery, self: QueryInternals) {
  const { hooks, scope, dispatch } = this[TRACKING];
  // A savepoint outlives its transaction's connection when that is lost mid-savepoint: its own
  // `ended` never comes (its callback is stranded), so `released` must refuse for it.
  if (scope && (scope.ended || scope.connection?.released)) {
    self.reject(new TransactionEndedError());
    return undefined;
  }
  // Decided at dispatch, after `.simple()` or `.writable()` (COPY) have had their say: Drizzle
  // sends `prepare: false` unless the query was `.prepare(name)`d; ADR 0003 has why we name the
  // others too. Tagged templates follow the pool's `prepare` option.
  const { options } = self;
  if (hooks.prepare && !self.tagged && !options.prepare && !options.simple) {
    options.prepare = shouldPrepare(self.strings[0] ?? "", self.args);
  }
  const activity = scope?.connection;
  if (activity) activity.inFlight++;
  const run = new QueryRun(
    self,
    hooks,
    activity,
    poolTimeoutOverride.getStore() ?? hooks.poolTimeoutMs,
    self.resolve,
    self.reject,
  );
  (self as RunningQuery)[RUN] = run;
  if (self.cursorFn) {
    // `.cursor()` (set before dispatch in both its forms) replaces resolve/reject on every
    // batch: accessors keep each replacement wrapped.
    Object.defineProperties(self, {
      resolve: {
        configurable: true,
        get: () => resolveTracked,
        set: (fn: QueryInternals["resolve"]) => {
          run.resolve = fn;
        },
      },
      reject: {
        configurable: true,
        get: () => rejectTracked,
        set: (fn: QueryInternals["reject"]) => {
          run.reject = fn;
        },
      },
    });
  } else {
    // Plain fields keep the Query's shape (accessors would make it a dictionary-mode object).
    self.resolve = resolveTracked;
    self.reject = rejectTracked;
  }

  dispatch.call(this, self);
  // On the root pool, bound the wait for a connection. A query that went to an open or busy
  // connection has its `state` now; one without is queued (every connection reserved or full)
  // or waiting for a connection being opened. Only those arm a timer.
  if (!scope && !self.state && !run.observed) {
    run.timer = setTimeout(() => {
      if (self.state) return; // a connection took it: running, not waiting
      run.timedOut = true;
      self.cancel(); // removes it from the pool's queue and rejects it
      neuter(self);
    }, run.timeoutMs);
  }
  return undefined;
}

/**
 * Defuses a query abandoned by the pool guard. If it was waiting as the first query of a
 * connection being opened (a cold pool, or a reconnect in postgres.js `onclose`), `cancel()`
 * can't reach it there, and a cancelled first query would leave that connection stuck in
 * "connecting" until `max_lifetime`. Turning it into `select 1` lets the connection come up and
 * join the pool; the result goes nowhere (the caller already has `PoolTimeoutError`).
 */
function neuter(query: QueryInternals) {
  Object.assign(query, {
    cancelled: null,
    tagged: false,
    strings: ["select 1"],
    args: [],
    options: { simple: true },
    cursorFn: undefined,
    forEachFn: undefined,
  });
}

/** postgres.js `Result` (an array with `count`), or one per statement of a multi-statement query. */
function rowCount(value: unknown): number | undefined {
  if (!Array.isArray(value)) return undefined;
  const single = (result: unknown[] & { count?: unknown }) =>
    typeof result.count === "number" ? result.count : result.length;
  if (value.length > 0 && value.every((item) => Array.isArray(item) && "command" in item)) {
    return (value as (unknown[] & { count?: unknown })[]).reduce((sum, r) => sum + single(r), 0);
  }
  return single(value);
}

// ---------------------------------------------------------------------------------------------
// PGlite

interface PgliteHooks {
  observer: QueryObserver;
  poolTimeoutMs: number;
  usage: ConnectionUsage;
}

/**
 * PGlite is one connection behind a mutex: `query`/`exec`/`transaction` wait for it, and a query
 * on the root db inside a transaction callback waits forever. The same bounded wait applies to
 * its exclusive section; its query methods are timed like postgres.js queries. The instance is
 * patched in place (PGlite keeps its state in #private fields, which a Proxy can't reach).
 */
function instrumentPglite(pglite: PGlite, hooks: PgliteHooks) {
  const exclusive = pglite._runExclusiveTransaction.bind(pglite);
  pglite._runExclusiveTransaction = <T>(fn: () => Promise<T>) =>
    waitForConnection(poolTimeoutOverride.getStore() ?? hooks.poolTimeoutMs, hooks.usage, (admit) =>
      exclusive(async () => {
        admit();
        return fn();
      }),
    );

  Object.assign(pglite, timedMethods(pglite, hooks.observer));
  const transaction = pglite.transaction.bind(pglite);
  pglite.transaction = <T>(callback: (tx: Transaction) => Promise<T>) => {
    const scope: TransactionScope = { ended: false };
    let holding = false;
    return transaction((tx) => {
      holding = true;
      hooks.usage.transactions++;
      const tracked = Object.create(tx, propertiesOf(timedMethods(tx, hooks.observer, scope)));
      return callback(tracked);
    }).finally(() => {
      if (holding) hooks.usage.transactions--;
      scope.ended = true;
    });
  };
}

/** `query` and `exec` of a PGlite instance or transaction, timed and reported. */
function timedMethods(
  client: Pick<PGlite | Transaction, "query" | "exec">,
  observer: QueryObserver,
  scope?: TransactionScope,
) {
  const query = client.query.bind(client);
  const exec = client.exec.bind(client);
  const timed = async <R>(text: string, params: unknown[], run: () => Promise<R>) => {
    if (scope?.ended) throw new TransactionEndedError();
    const started = performance.now();
    try {
      const result = await run();
      const results = (Array.isArray(result) ? result : [result]) as Results[];
      const rows = results.reduce((sum, r) => sum + (r.rows.length || (r.affectedRows ?? 0)), 0);
      observer.observe({ sql: text, params, durationMs: performance.now() - started, rows });
      return result;
    } catch (error) {
      observer.observe({
        sql: text,
        params,
        durationMs: performance.now() - started,
        rows: undefined,
        error,
      });
      throw error;
    }
  };
  return {
    query: ((text: string, params: unknown[] = [], options?: unknown) =>
      timed(text, params, () => query(text, params, options as never))) as typeof client.query,
    exec: ((text: string, options?: unknown) =>
      timed(text, [], () => exec(text, options as never))) as typeof client.exec,
  };
}

const propertiesOf = (methods: object): PropertyDescriptorMap =>
  Object.fromEntries(Object.entries(methods).map(([key, value]) => [key, { value }]));

// ---------------------------------------------------------------------------------------------
// Health

async function pingPostgres(sql: postgres.Sql, timeoutMs: number) {
  const query = Object.assign(sql`select 1`, { [UNTRACKED]: true });
  try {
    return await withDeadline(
      query.then(() => undefined),
      timeoutMs,
      () => query.cancel(),
    );
  } catch (error) {
    throw mapDatabaseError(error);
  }
}

/** Resolves with the latency, or rejects with a typed timeout once `timeoutMs` has passed. */
async function withDeadline(
  work: Promise<void>,
  timeoutMs: number,
  onTimeout?: () => void,
): Promise<{ latencyMs: number }> {
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
  }
}
