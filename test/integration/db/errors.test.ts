/**
 * Real database errors, provoked on each driver, come out typed — and carry no parameter value
 * in any form a service might print: message, JSON, util.inspect (console.log), or a log line.
 */
import { inspect } from "node:util";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Database } from "../../../src/db/client.js";
import {
  CheckViolationError,
  DatabaseError,
  ForeignKeyViolationError,
  InvalidInputError,
  mapDatabaseError,
  NotNullViolationError,
  UniqueViolationError,
} from "../../../src/db/errors.js";
import { accounts, users } from "../../../src/db/schema/index.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { captureLogs, usePglite, userRows } from "./helpers.js";

/** Looks like a credential, so a leak would be a real incident. */
const SECRET = "sk_live_51H7xSeCrEtVaLuE0000";

async function failure(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error("expected the database to refuse");
}

/** Every way the error could be printed, none of which may contain `secret`. */
function expectNoLeak(raw: unknown, secret: string) {
  const mapped = mapDatabaseError(raw);
  expect(mapped).toBeInstanceOf(DatabaseError);
  const { logger, raw: logLines } = captureLogs();
  logger.error({ err: raw }, "raw driver error logged");
  logger.error({ err: mapped }, "mapped error logged");
  const renderings = {
    message: (mapped as Error).message,
    string: String(mapped),
    stack: (mapped as Error).stack ?? "",
    json: JSON.stringify(mapped),
    inspect: inspect(mapped, { depth: 10, showHidden: false }),
    logs: logLines.join("\n"),
  };
  for (const [form, text] of Object.entries(renderings)) {
    expect(text, `${form} leaks the value`).not.toContain(secret);
  }
  // The proof that the test can see a leak: Drizzle's own message does carry the value.
  expect(String((raw as Error).message) + inspect(raw)).toContain(secret);
  return mapped as DatabaseError;
}

function errorContract(database: () => Database) {
  it("unique violation: typed, with constraint and column, value never shown", async () => {
    const { db } = database();
    const [user] = userRows(1, "secret").map((u) => ({ ...u, email: `${SECRET}@example.com` }));
    await db.insert(users).values(user as typeof users.$inferInsert);
    const raw = await failure(() =>
      db.insert(users).values({ email: `${SECRET.toUpperCase()}@EXAMPLE.COM`, name: "again" }),
    );
    const mapped = expectNoLeak(raw, SECRET.toUpperCase());
    expect(mapped).toBeInstanceOf(UniqueViolationError);
    expect(mapped).toMatchObject({
      code: "23505",
      table: "users",
      constraint: "users_email_lower_key",
      columns: ["email"],
    });
    expect(mapped.cause).toBe(raw);
  });

  it("invalid input: the server's own message quotes the value, ours doesn't", async () => {
    const { db } = database();
    const raw = await failure(() => db.select().from(users).where(eq(users.id, SECRET)));
    const mapped = expectNoLeak(raw, SECRET);
    expect(mapped).toBeInstanceOf(InvalidInputError);
    expect(mapped.code).toBe("22P02");
  });

  it("check, not-null and foreign-key violations, both directions", async () => {
    const { db } = database();
    const check = mapDatabaseError(
      await failure(() => db.insert(users).values({ email: "a@b.co", name: "" })),
    );
    expect(check).toBeInstanceOf(CheckViolationError);
    expect(check).toMatchObject({ code: "23514", constraint: "users_name_length" });

    const notNull = mapDatabaseError(
      await failure(() => db.execute(sql`insert into users (email, name) values ('x@y.z', null)`)),
    );
    expect(notNull).toBeInstanceOf(NotNullViolationError);
    expect(notNull).toMatchObject({ code: "23502", table: "users", column: "name" });

    const missing = mapDatabaseError(
      await failure(() =>
        db.insert(accounts).values({
          userId: "00000000-0000-4000-8000-000000000000",
          currency: "EUR",
        }),
      ),
    );
    expect(missing).toBeInstanceOf(ForeignKeyViolationError);
    expect(missing).toMatchObject({ kind: "missing_reference", table: "accounts" });

    const [owner] = await db.insert(users).values(userRows(1, "fk")).returning();
    await db.insert(accounts).values({ userId: owner?.id ?? "", currency: "EUR" });
    const referenced = mapDatabaseError(
      await failure(() => db.delete(users).where(eq(users.id, owner?.id ?? ""))),
    );
    expect(referenced).toBeInstanceOf(ForeignKeyViolationError);
    expect(referenced).toMatchObject({ kind: "still_referenced", table: "accounts" });
    // ON DELETE RESTRICT: 23001 restrict_violation since PostgreSQL 18 (PGlite 0.5), 23503 before.
    expect(["23001", "23503"]).toContain((referenced as DatabaseError).code);
  });
}

const testDb = useTestDatabase();
const pglite = usePglite();

describe("typed, redacted errors on embedded PGlite", () => {
  errorContract(pglite);
});

describe.skipIf(!onRealServer())(`typed, redacted errors on postgres.js (${NEEDS_SERVER})`, () => {
  errorContract(() => testDb.database);
});
