import { inspect } from "node:util";
import { DrizzleQueryError } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  CheckViolationError,
  ConnectionError,
  columnsFromKeyDetail,
  DatabaseError,
  DatabaseTimeoutError,
  DeadlockError,
  ForeignKeyViolationError,
  InvalidInputError,
  isRetryable,
  mapDatabaseError,
  NotNullViolationError,
  PoolTimeoutError,
  SerializationFailureError,
  UniqueViolationError,
} from "../../../src/db/errors.js";

const SECRET = "tok_SECRET_9f8e7d";

/** A postgres.js PostgresError as the driver builds it (fields copied onto an Error). */
const postgresError = (fields: Record<string, unknown>) =>
  Object.assign(new Error(String(fields.message ?? "server error")), fields);

/** As Drizzle throws it: the SQL and the parameters in the message, the driver error as cause. */
const drizzleError = (cause: unknown, params: unknown[] = [SECRET]) =>
  new DrizzleQueryError('insert into "users" ("email") values ($1)', params, cause as Error);

describe("mapDatabaseError", () => {
  it.each([
    ["23505", UniqueViolationError],
    ["23503", ForeignKeyViolationError],
    ["23001", ForeignKeyViolationError],
    ["23514", CheckViolationError],
    ["23502", NotNullViolationError],
    ["22P02", InvalidInputError],
    ["40001", SerializationFailureError],
    ["40P01", DeadlockError],
    ["57014", DatabaseTimeoutError],
    ["55P03", DatabaseTimeoutError],
    ["25P03", DatabaseTimeoutError],
    ["57P01", ConnectionError],
    ["08006", ConnectionError],
    ["53300", ConnectionError],
    ["ECONNREFUSED", ConnectionError],
    ["CONNECTION_CLOSED", ConnectionError],
    ["CONNECT_TIMEOUT", ConnectionError],
    ["XX000", DatabaseError],
  ])("maps %s to %o, through Drizzle's wrapper", (code, type) => {
    const mapped = mapDatabaseError(drizzleError(postgresError({ code })));
    expect(mapped).toBeInstanceOf(type);
    expect(mapped).toMatchObject({ code });
  });

  it("reads postgres.js and PGlite field names alike", () => {
    const fromPostgresJs = mapDatabaseError(
      postgresError({
        code: "23514",
        schema_name: "public",
        table_name: "users",
        column_name: "name",
        constraint_name: "users_name_length",
      }),
    );
    const fromPglite = mapDatabaseError(
      postgresError({
        code: "23514",
        schema: "public",
        table: "users",
        column: "name",
        constraint: "users_name_length",
      }),
    );
    const expected = {
      schema: "public",
      table: "users",
      column: "name",
      constraint: "users_name_length",
    };
    expect(fromPostgresJs).toMatchObject(expected);
    expect(fromPglite).toMatchObject(expected);
  });

  it("tells the timeout kinds apart and marks only 40001/40P01 retryable", () => {
    expect(mapDatabaseError(postgresError({ code: "55P03" }))).toMatchObject({ kind: "lock" });
    expect(mapDatabaseError(postgresError({ code: "25P03" }))).toMatchObject({
      kind: "idle_in_transaction",
    });
    expect(isRetryable(drizzleError(postgresError({ code: "40001" })))).toBe(true);
    expect(isRetryable(drizzleError(postgresError({ code: "40P01" })))).toBe(true);
    expect(isRetryable(drizzleError(postgresError({ code: "23505" })))).toBe(false);
    expect(isRetryable(new Error("bug"))).toBe(false);
  });

  it("tells a missing reference from a still-referenced row, even on a localized server", () => {
    const kind = (detail: string, query = "") =>
      (
        mapDatabaseError(
          postgresError({ code: "23503", detail, query }),
        ) as ForeignKeyViolationError
      ).kind;
    expect(kind('Key (user_id)=(1) is not present in table "users".')).toBe("missing_reference");
    expect(kind('Key (id)=(1) is still referenced from table "accounts".')).toBe(
      "still_referenced",
    );
    expect(
      kind("Schlüssel (id)=(1) wird noch aus Tabelle »accounts« verwiesen.", "delete from users"),
    ).toBe("still_referenced");
    expect(kind("Schlüssel (user_id)=(1) ist nicht vorhanden.", "insert into accounts")).toBe(
      "missing_reference",
    );
  });

  it("leaves socket and fs errors alone unless they are a database query's", () => {
    const socket = () =>
      Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:443"), {
        code: "ECONNREFUSED",
        errno: -111,
      });
    const outboundHttp = socket();
    expect(mapDatabaseError(outboundHttp)).toBe(outboundHttp);
    const fsError = Object.assign(new Error("EPERM: operation not permitted"), {
      code: "EPERM",
      errno: -1,
    });
    expect(mapDatabaseError(fsError)).toBe(fsError);
    // postgres.js attaches the failed query to the errors it rejects queries with.
    const fromPostgresJs = Object.defineProperty(socket(), "query", { value: "select 1" });
    expect(mapDatabaseError(fromPostgresJs)).toBeInstanceOf(ConnectionError);
    expect(mapDatabaseError(drizzleError(socket()))).toBeInstanceOf(ConnectionError);
    // A server error is one whatever its class.
    expect(mapDatabaseError(postgresError({ code: "P0001", severity: "ERROR" }))).toBeInstanceOf(
      DatabaseError,
    );
  });

  it("returns non-database errors unchanged, and keeps typed errors as they are", () => {
    const bug = new TypeError("x is undefined");
    expect(mapDatabaseError(bug)).toBe(bug);
    expect(mapDatabaseError("a string")).toBe("a string");
    const pool = new PoolTimeoutError(300);
    expect(mapDatabaseError(drizzleError(pool))).toBe(pool);
  });

  it("never lets Drizzle's message out, even for a failure it can't classify", () => {
    // postgres.js's own limit, thrown before anything reaches the server.
    const limit = Object.assign(new Error("Max number of parameters (65534) exceeded"), {
      code: "MAX_PARAMETERS_EXCEEDED",
    });
    const mapped = mapDatabaseError(drizzleError(limit));
    expect(mapped).toBeInstanceOf(DatabaseError);
    expect((mapped as Error).message).not.toContain(SECRET);
    const noCode = mapDatabaseError(drizzleError(new Error("serializer failed")));
    expect(noCode).toBeInstanceOf(DatabaseError);
  });
});

describe("DatabaseError rendering", () => {
  const raw = drizzleError(
    postgresError({
      code: "23505",
      table_name: "users",
      constraint_name: "users_email_lower_key",
      detail: `Key (lower(email))=(${SECRET}) already exists.`,
      message: 'duplicate key value violates unique constraint "users_email_lower_key"',
    }),
  );
  const mapped = mapDatabaseError(raw) as UniqueViolationError;

  it("keeps identifiers and the original cause, and builds its message from identifiers", () => {
    expect(mapped.message).toBe(
      "unique constraint violated (table users, constraint users_email_lower_key, SQLSTATE 23505)",
    );
    expect(mapped.columns).toEqual(["email"]);
    expect(mapped.cause).toBe(raw);
  });

  it("shows no value in JSON, String, util.inspect or the stack", () => {
    for (const text of [
      JSON.stringify(mapped),
      String(mapped),
      inspect(mapped, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      mapped.stack ?? "",
      JSON.stringify({ ...mapped }),
    ]) {
      expect(text).not.toContain(SECRET);
    }
    expect(inspect(mapped)).toContain("users_email_lower_key");
  });
});

describe("columnsFromKeyDetail", () => {
  it.each([
    ["Key (email)=(a@b.c) already exists.", ["email"]],
    ["Key (lower(email))=(a@b.c) already exists.", ["email"]],
    ["Key (lower((email)::text), tenant_id)=(a, 1) already exists.", ["email", "tenant_id"]],
    ['Key ("Mixed ""Case""", b)=(1, 2) already exists.', ['Mixed "Case"', "b"]],
    ["Key (coalesce(a, b))=(x) already exists.", ["a", "b"]],
    ["Schlüssel »(id)=(1)« existiert bereits.", []],
    [undefined, []],
  ])("%s -> %o", (detail, columns) => {
    expect(columnsFromKeyDetail(detail)).toEqual(columns);
  });

  it("never returns part of the value", () => {
    expect(columnsFromKeyDetail(`Key (email)=(${SECRET}, x)=(y) already exists.`)).toEqual([
      "email",
    ]);
  });
});
