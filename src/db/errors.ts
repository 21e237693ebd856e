/**
 * Driver errors -> typed errors, by SQLSTATE, in one place.
 *
 * Drivers disagree on shape: postgres.js throws `PostgresError` (`code`, `table_name`,
 * `constraint_name`, ...), PGlite throws pg-protocol's `DatabaseError` (`code`, `table`,
 * `constraint`, ... and, enumerable, the `params` of the failed query), and Drizzle wraps either
 * in `DrizzleQueryError`, whose *message contains the SQL and the bound parameters*. Even the
 * server's own message can carry a value (`invalid input syntax for type uuid: "<value>"`), and
 * its `detail` usually does (`Key (email)=(<value>) already exists.`).
 *
 * The classes here keep SQLSTATE, schema, table, column, constraint and the original as `cause`,
 * but build their message from those identifiers only. `JSON.stringify`, `util.inspect`
 * (`console.log`) and the logger's serializer all show the same safe fields, so a parameter
 * value (an email, a token, a password) never reaches a log line or a response.
 *
 * @example
 * try {
 *   await db.insert(users).values(input);
 * } catch (error) {
 *   const mapped = mapDatabaseError(error);
 *   if (mapped instanceof UniqueViolationError) return conflict(mapped.constraint);
 *   throw mapped;
 * }
 */
import { inspect } from "node:util";
import { DrizzleQueryError } from "drizzle-orm";
import { TLS_FAILURE_SUMMARIES, type TlsFailure, tlsFailureOf } from "./tls-failures.js";

export interface DatabaseErrorFields {
  /** SQLSTATE (e.g. `23505`) or the driver's code for client-side failures (`ECONNREFUSED`). */
  code: string | undefined;
  schema?: string | undefined;
  table?: string | undefined;
  column?: string | undefined;
  constraint?: string | undefined;
}

/** Base class of every error this module produces. */
export class DatabaseError extends Error {
  override name = "DatabaseError";
  readonly code: string | undefined;
  readonly schema: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly constraint: string | undefined;
  /** True when re-running the whole transaction may succeed (40001, 40P01). */
  readonly retryable: boolean = false;

  constructor(summary: string, fields: DatabaseErrorFields, cause?: unknown) {
    const where = [
      fields.table && `table ${fields.table}`,
      fields.column && `column ${fields.column}`,
      fields.constraint && `constraint ${fields.constraint}`,
      fields.code && `SQLSTATE ${fields.code}`,
    ]
      .filter(Boolean)
      .join(", ");
    // `cause` is installed non-enumerable (ES2022), so spreading or JSON never walks into it.
    super(where ? `${summary} (${where})` : summary, cause === undefined ? undefined : { cause });
    this.code = fields.code;
    this.schema = fields.schema;
    this.table = fields.table;
    this.column = fields.column;
    this.constraint = fields.constraint;
  }

  /** Safe to log or return: identifiers only, never values or SQL. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      code: this.code,
      schema: this.schema,
      table: this.table,
      column: this.column,
      constraint: this.constraint,
    };
  }

  /**
   * `util.inspect` (and so `console.log`) prints an error's `cause` chain even though it is not
   * enumerable; the cause of a query error is the driver error with the parameters in it.
   */
  [inspect.custom](_depth: number, options: Parameters<typeof inspect>[1]) {
    const stack = this.stack ?? `${this.name}: ${this.message}`;
    const { name: _name, message: _message, ...fields } = this.toJSON();
    return `${stack} ${inspect(fields, { ...options, depth: 1 })}`;
  }
}

/** 23505. `columns` are parsed from the key definition, never from the key's value. */
export class UniqueViolationError extends DatabaseError {
  override name = "UniqueViolationError";
  constructor(
    fields: DatabaseErrorFields,
    /** Empty when the server's detail is localized (`lc_messages`) or withheld; use `constraint`. */
    readonly columns: readonly string[],
    cause?: unknown,
  ) {
    super("unique constraint violated", fields, cause);
  }
  override toJSON() {
    return { ...super.toJSON(), columns: this.columns };
  }
}
/** 23503: a referenced row is missing (insert/update) or still referenced (delete/update). */
export class ForeignKeyViolationError extends DatabaseError {
  override name = "ForeignKeyViolationError";
  constructor(
    /** `still_referenced`: deleting a parent that has children; `missing_reference`: the reverse. */
    readonly kind: "missing_reference" | "still_referenced",
    fields: DatabaseErrorFields,
    cause?: unknown,
  ) {
    super(
      kind === "still_referenced" ? "row is still referenced" : "referenced row does not exist",
      fields,
      cause,
    );
  }
  override toJSON() {
    return { ...super.toJSON(), kind: this.kind };
  }
}
/** 23514 */
export class CheckViolationError extends DatabaseError {
  override name = "CheckViolationError";
}
/** 23502 */
export class NotNullViolationError extends DatabaseError {
  override name = "NotNullViolationError";
}
/** Class 22 (bad input value: 22P02 invalid text representation, 22003 out of range, ...). */
export class InvalidInputError extends DatabaseError {
  override name = "InvalidInputError";
}
/** 40001: the transaction can be retried as a whole. */
export class SerializationFailureError extends DatabaseError {
  override name = "SerializationFailureError";
  override readonly retryable = true;
}
/** 40P01: the transaction can be retried as a whole. */
export class DeadlockError extends DatabaseError {
  override name = "DeadlockError";
  override readonly retryable = true;
}

export type TimeoutKind = "statement" | "lock" | "idle_in_transaction";
/**
 * 57014 (statement_timeout, or an explicit cancel), 55P03 (lock_timeout), 25P03
 * (idle_in_transaction_session_timeout; see `withTransaction` for how it is recognised).
 */
export class DatabaseTimeoutError extends DatabaseError {
  override name = "DatabaseTimeoutError";
  constructor(
    readonly kind: TimeoutKind,
    fields: DatabaseErrorFields,
    cause?: unknown,
  ) {
    super(`${kind.replaceAll("_", " ")} timeout`, fields, cause);
  }
  override toJSON() {
    return { ...super.toJSON(), kind: this.kind };
  }
}
/** The server can't be reached or dropped the connection (08xxx, 57P01-57P03, socket errors). */
export class ConnectionError extends DatabaseError {
  override name = "ConnectionError";
}

/**
 * Refused at the TLS layer; `reason` says what to fix. A `ConnectionError`, so health checks and
 * the HTTP 503 keep treating it as the database being unavailable.
 */
export class TlsError extends ConnectionError {
  override name = "TlsError";
  constructor(
    readonly reason: TlsFailure,
    fields: DatabaseErrorFields,
    cause?: unknown,
  ) {
    super(TLS_FAILURE_SUMMARIES[reason], fields, cause);
  }
  override toJSON() {
    return { ...super.toJSON(), reason: this.reason };
  }
}
/** Class 28 (password, pg_hba.conf) or a wrong SCRAM server proof. Never holds a password. */
export class AuthenticationError extends ConnectionError {
  override name = "AuthenticationError";
}
/** No pooled connection became free within `DATABASE_POOL_TIMEOUT`. */
export class PoolTimeoutError extends DatabaseError {
  override name = "PoolTimeoutError";
  constructor(
    readonly waitedMs: number,
    /** Why the wait was probably hopeless, e.g. the root db used inside a transaction callback. */
    readonly hint?: string,
  ) {
    super(`no database connection became free within ${waitedMs} ms${hint ? `: ${hint}` : ""}`, {
      code: "POOL_TIMEOUT",
    });
  }
  override toJSON() {
    return { ...super.toJSON(), waitedMs: this.waitedMs };
  }
}
/**
 * A query was sent through a transaction's `tx` after that transaction had ended (the callback
 * kept `tx` past its promise). postgres.js would run it on whatever the connection does next —
 * possibly inside another caller's transaction — so the client refuses it instead.
 */
export class TransactionEndedError extends DatabaseError {
  override name = "TransactionEndedError";
  constructor() {
    super("query on a transaction that has already ended", { code: "TRANSACTION_ENDED" });
  }
}

/** postgres.js's own codes for a lost or unobtainable connection. */
const DRIVER_CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);
/**
 * Node's socket errors. Any network client raises them (an outbound HTTP call too), so they
 * count as a database connection failure only on the error of a database query.
 */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

type DriverError = Error & Record<string, unknown>;

/** Finds the driver's error: Drizzle wraps it in `DrizzleQueryError.cause`. */
function unwrap(error: unknown): DriverError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as DriverError).code;
    if (typeof code === "string" || typeof (current as DriverError).errno === "number") {
      return current as DriverError;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const str = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);

/** A quoted identifier or a bare word that is neither a function name nor a `::type`. */
const KEY_IDENTIFIER =
  /(?<![a-z0-9_$"]|::\s*)("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)(?![a-z0-9_$]|\s*\()/gi;

/**
 * Column names from a unique-violation detail: `Key (lower(email))=(a@b.c) already exists.`
 * yields `["email"]`, `Key (lower((email)::text), tenant_id)=(...)` yields
 * `["email", "tenant_id"]`. Only the part before `)=(` is read, so the value never leaves.
 * The detail is localized by the server's `lc_messages`; anything else yields `[]`.
 */
export function columnsFromKeyDetail(detail: string | undefined): string[] {
  const key = /^Key \((.*?)\)=\(/.exec(detail ?? "")?.[1];
  if (!key) return [];
  const names = [...key.matchAll(KEY_IDENTIFIER)].map(([, name = ""]) =>
    name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name,
  );
  return [...new Set(names)];
}

/**
 * Which side of a foreign key failed. The server's detail says so in English ("is not present
 * in" / "is still referenced from"); with a localized server, fall back to the statement's verb.
 */
function foreignKeyKind(driver: DriverError, error: unknown) {
  const detail = str(driver.detail) ?? "";
  if (/is (still )?referenced from/.test(detail)) return "still_referenced";
  if (/is not present/.test(detail)) return "missing_reference";
  const statement = str(driver.query) ?? (error instanceof DrizzleQueryError ? error.query : "");
  return /^\s*delete\b/i.test(statement) ? "still_referenced" : "missing_reference";
}

/**
 * Turns any error thrown while talking to PostgreSQL into a `DatabaseError` subclass.
 * Errors that don't come from the database (bugs, validation) are returned unchanged.
 *
 * @example
 * const error = mapDatabaseError(await db.delete(users).where(eq(users.id, id)).catch((e) => e));
 * if (error instanceof ForeignKeyViolationError && error.kind === "still_referenced") ...
 */
export function mapDatabaseError(error: unknown): unknown {
  // Already typed, possibly wrapped by Drizzle (e.g. a PoolTimeoutError raised by the pool guard).
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e instanceof DatabaseError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  const driver = unwrap(error);
  const code = str(driver?.code);
  const fields: DatabaseErrorFields = {
    code,
    schema: str(driver?.schema_name) ?? str(driver?.schema),
    table: str(driver?.table_name) ?? str(driver?.table),
    column: str(driver?.column_name) ?? str(driver?.column),
    constraint: str(driver?.constraint_name) ?? str(driver?.constraint),
  };
  const cause = error;
  switch (code) {
    case "23505":
      return new UniqueViolationError(fields, columnsFromKeyDetail(str(driver?.detail)), cause);
    case "23503":
      if (!driver) break;
      return new ForeignKeyViolationError(foreignKeyKind(driver, error), fields, cause);
    case "23001": // restrict_violation: ON DELETE/UPDATE RESTRICT since PostgreSQL 18 (was 23503)
      return new ForeignKeyViolationError("still_referenced", fields, cause);
    case "23514":
      return new CheckViolationError("check constraint violated", fields, cause);
    case "23502":
      return new NotNullViolationError("not-null constraint violated", fields, cause);
    case "40001":
      return new SerializationFailureError("could not serialize access", fields, cause);
    case "40P01":
      return new DeadlockError("deadlock detected", fields, cause);
    case "57014":
      return new DatabaseTimeoutError("statement", fields, cause);
    case "55P03":
      return new DatabaseTimeoutError("lock", fields, cause);
    case "25P03":
      return new DatabaseTimeoutError("idle_in_transaction", fields, cause);
    case "28P01": // invalid_password: wrong password, or none sent
      return new AuthenticationError("password authentication failed", fields, cause);
    case "28000": // invalid_authorization_specification: no pg_hba.conf line, unknown role, ...
      return new AuthenticationError("connection not authorized by the server", fields, cause);
    case "SASL_SIGNATURE_MISMATCH": // postgres.js: the server's SCRAM proof was wrong
      return new AuthenticationError("server failed to prove it knows the password", fields, cause);
    case "57P01": // admin_shutdown: pg_terminate_backend, or the server is stopping
    case "57P02": // crash_shutdown
    case "57P03": // cannot_connect_now: starting up or in recovery
    case "53300": // too_many_connections
      return new ConnectionError("server closed or refused the connection", fields, cause);
  }
  const ofQuery = fromQuery(error, driver);
  // A SQLSTATE, not an fs or socket code that merely looks like one (EPERM): the server's
  // ErrorResponse carries a severity, and Node's codes never start with a digit.
  const sqlstate =
    code !== undefined &&
    /^[0-9A-Z]{5}$/.test(code) &&
    (typeof driver?.severity === "string" || ofQuery || /^\d/.test(code));
  // Like socket codes, TLS codes count only on the error of a database query.
  const tls = code && ofQuery ? tlsFailureOf(code) : undefined;
  if (tls) return new TlsError(tls, fields, cause);
  if (
    code?.startsWith("08") ||
    (code && DRIVER_CONNECTION_CODES.has(code)) ||
    (code && SOCKET_CODES.has(code) && ofQuery)
  ) {
    return new ConnectionError("database connection failed", fields, cause);
  }
  if (sqlstate && code.startsWith("22")) {
    return new InvalidInputError("invalid input value", fields, cause);
  }
  if (sqlstate) return new DatabaseError("database error", fields, cause);
  // A failed query whose cause we can't classify (a driver limit such as
  // MAX_PARAMETERS_EXCEEDED, a type serialization error): still never let Drizzle's message,
  // which embeds the parameters, escape.
  if (ofQuery) return new DatabaseError("query failed", fields, cause);
  return error;
}

/**
 * True for the error of a database query: wrapped by Drizzle, or marked by the driver, which
 * attaches the failed query's text (postgres.js, non-enumerable) or the query (PGlite).
 */
function fromQuery(error: unknown, driver: DriverError | undefined): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e instanceof DrizzleQueryError) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return driver !== undefined && "query" in driver;
}

/**
 * True for serialization failures and deadlocks: re-running the transaction may succeed.
 *
 * @example
 * if (isRetryable(error)) queue.retryLater(job);
 */
export function isRetryable(error: unknown): boolean {
  const mapped = mapDatabaseError(error);
  return mapped instanceof DatabaseError && mapped.retryable;
}
