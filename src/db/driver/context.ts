/**
 * What an instrumented client shares with its database: the pool gate, the event listeners and
 * the names of prepared statements. One per `createDatabase`; a second client in the same process
 * has its own, and a `postgres()` client the template didn't create is never touched.
 */
import { type DatabaseEvents, operationOf } from "../events.js";
import type { PoolGate } from "../pool-gate.js";

export interface DriverContext {
  readonly gate: PoolGate;
  readonly events: DatabaseEvents;
  /** SQL text -> the name it was prepared under (`preparedStatement`), for `operation`. */
  readonly statementNames: Map<string, string>;
  /** `DATABASE_PREPARE`: also prepare unnamed statements with parameters (ADR 0003). */
  readonly prepare: boolean;
  /** The replica this client reaches (`host:port`), for `QueryEvent.replica`; unset: primary. */
  readonly replica?: string;
}

/**
 * Statements with more parameters than this are never prepared: they are bulk writes whose
 * text varies with the row count, so a named statement would be parsed once, used once and
 * kept by the server for the connection's lifetime (ADR 0003).
 */
export const MAX_PREPARED_PARAMETERS = 100;

/**
 * Whether to ask the driver to prepare an unnamed statement (Drizzle asks only for
 * `.prepare(name)`d ones). Never a cursor's DECLARE: its text holds a per-call cursor name, so a
 * prepared statement for it would never be used again.
 */
export const shouldPrepare = (text: string, params: readonly unknown[]) =>
  params.length > 0 && params.length <= MAX_PREPARED_PARAMETERS && !/^\s*declare\b/i.test(text);

export function reportQuery(
  context: DriverContext,
  sql: string,
  params: readonly unknown[],
  startedAt: number,
  started: number,
  inTransaction: boolean,
  prepared: boolean,
  rows: number | undefined,
  error?: unknown,
) {
  if (!context.events.active) return;
  context.events.emit("query", {
    sql,
    params,
    operation: context.statementNames.get(sql) ?? operationOf(sql),
    startedAt,
    durationMs: performance.now() - started,
    rows,
    inTransaction,
    prepared,
    replica: context.replica,
    ...(error === undefined ? {} : { error }),
  });
}

export function reportTransaction(
  context: DriverContext,
  startedAt: number,
  started: number,
  error?: unknown,
) {
  if (!context.events.active) return;
  context.events.emit("transaction", {
    outcome: error === undefined ? "commit" : "rollback",
    savepoint: false,
    startedAt,
    durationMs: performance.now() - started,
    ...(error === undefined ? {} : { error }),
  });
}

const contexts = new WeakMap<object, DriverContext>();

/** Ties a Drizzle instance to its client's context (createDatabase, once). */
export function registerContext(db: object, context: DriverContext) {
  contexts.set(db, context);
}

/** The context of a Drizzle instance made by `createDatabase`; undefined for any other. */
export const contextOf = (db: object): DriverContext | undefined => contexts.get(db);
