/**
 * Driver errors -> typed errors, by SQLSTATE, in one place.
 *
 * Drivers disagree on shape: postgres.js throws `PostgresError` (`code`, `table_name`,
 * `constraint_name`, ...), PGlite throws pg-protocol's `DatabaseError` (`code`, `table`,
 * `constraint`, ...), and Drizzle wraps either in `DrizzleQueryError`, whose *message contains
 * the SQL and the bound parameters*. The classes here keep SQLSTATE, table, constraint and the
 * original as `cause`, but build their own message from those fields only, so a message or a
 * `JSON.stringify` of one never carries a parameter value (an email, a token, a password).
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
      fields.constraint && `constraint ${fields.constraint}`,
      fields.code && `SQLSTATE ${fields.code}`,
    ]
      .filter(Boolean)
      .join(", ");
    super(where ? `${summary} (${where})` : summary, cause === undefined ? undefined : { cause });
    this.code = fields.code;
    this.schema = fields.schema;
    this.table = fields.table;
    this.column = fields.column;
    this.constraint = fields.constraint;
  }

  /** Safe to log or return: identifiers only, never values or SQL. */
  toJSON() {
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
}

/** 23505. `columns` are parsed from the key definition, never from the key's value. */
export class UniqueViolationError extends DatabaseError {
  override name = "UniqueViolationError";
  constructor(
    fields: DatabaseErrorFields,
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

export type TimeoutKind = "statement" | "lock" | "idle_in_transaction" | "transaction";
/** 57014, 55P03, 25P03, or the transaction helper's own deadline. */
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
/** No pooled connection became free within `DATABASE_POOL_TIMEOUT`. */
export class PoolTimeoutError extends DatabaseError {
  override name = "PoolTimeoutError";
  constructor(
    readonly waitedMs: number,
    detail = "",
  ) {
    super(`no database connection became free within ${waitedMs} ms${detail}`, {
      code: "POOL_TIMEOUT",
    });
  }
}

/** Client-side connection failure codes (postgres.js and Node sockets). */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
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

/**
 * Column names from a unique-violation detail: `Key (lower(email))=(a@b.c) already exists.`
 * yields `["email"]`. Only the part before `=` is read, so the value never leaves.
 */
export function columnsFromKeyDetail(detail: string | undefined): string[] {
  const match = /^Key \((.*?)\)=\(/.exec(detail ?? "");
  if (!match?.[1]) return [];
  return match[1]
    .split(",")
    .map((part) => part.trim())
    .map((part) => /([a-z_][a-z0-9_]*)\)*$/i.exec(part)?.[1] ?? part);
}

/**
 * Turns any error thrown while talking to PostgreSQL into a `DatabaseError` subclass.
 * Errors that don't come from the database (bugs, validation) are returned unchanged.
 */
export function mapDatabaseError(error: unknown): unknown {
  // Already typed, possibly wrapped by Drizzle (e.g. a PoolTimeoutError raised by the pool guard).
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e instanceof DatabaseError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  const driver = unwrap(error);
  if (!driver) return error;
  const code = str(driver.code);
  const fields: DatabaseErrorFields = {
    code,
    schema: str(driver.schema_name) ?? str(driver.schema),
    table: str(driver.table_name) ?? str(driver.table),
    column: str(driver.column_name) ?? str(driver.column),
    constraint: str(driver.constraint_name) ?? str(driver.constraint),
  };
  const cause = error;
  switch (code) {
    case "23505":
      return new UniqueViolationError(fields, columnsFromKeyDetail(str(driver.detail)), cause);
    case "23503":
      return new ForeignKeyViolationError(
        // PostgreSQL's detail: "Key (id)=(...) is still referenced from table ...".
        /is still referenced/.test(str(driver.detail) ?? "")
          ? "still_referenced"
          : "missing_reference",
        fields,
        cause,
      );
    case "23001": // restrict_violation: ON DELETE RESTRICT, as raised by newer servers
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
    case "57P01":
    case "57P02":
    case "57P03":
      return new ConnectionError("server closed or refused the connection", fields, cause);
  }
  if (code?.startsWith("08") || (code && CONNECTION_CODES.has(code))) {
    return new ConnectionError("database connection failed", fields, cause);
  }
  if (code?.startsWith("22")) {
    return new InvalidInputError("invalid input value", fields, cause);
  }
  if (code && /^[0-9A-Z]{5}$/.test(code)) {
    return new DatabaseError("database error", fields, cause);
  }
  return error;
}

/** True for serialization failures and deadlocks: re-running the transaction may succeed. */
export function isRetryable(error: unknown): boolean {
  const mapped = mapDatabaseError(error);
  return mapped instanceof DatabaseError && mapped.retryable;
}
