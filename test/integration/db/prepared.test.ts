/** `preparedFindBy` (ADR 0009): Drizzle's row, by Drizzle's statement, without its executor. */
import { count, eq, getTableColumns, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Database } from "../../../src/db/client.js";
import {
  DatabaseTimeoutError,
  InvalidInputError,
  mapDatabaseError,
} from "../../../src/db/errors.js";
import { preparedFindBy } from "../../../src/db/prepared.js";
import { accounts, transfers, users } from "../../../src/db/schema/index.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { useDatabaseOn, usePglite, userRows } from "./helpers.js";

const MISSING = "00000000-0000-4000-8000-000000000000";
const userById = preparedFindBy(users, users.id, "test_user_by_id");
const accountById = preparedFindBy(accounts, accounts.id, "test_account_by_id");
const transferById = preparedFindBy(transfers, transfers.id, "test_transfer_by_id");
const transferByKey = preparedFindBy(transfers, transfers.idempotencyKey, "test_transfer_by_key");

function contract(get: () => Database) {
  it("returns exactly the row Drizzle's select returns: every column, decoded alike, nulls too", async () => {
    const { db } = get();
    const [user] = await db.insert(users).values(userRows(1, "find")).returning();
    const [from, to] = await db
      .insert(accounts)
      .values([
        { userId: user?.id ?? "", currency: "EUR", balance: 9_007_199_254_740_000 },
        { userId: user?.id ?? "", currency: "EUR" },
      ])
      .returning();
    const [keyed, unkeyed] = await db
      .insert(transfers)
      .values([
        { fromAccountId: from?.id ?? "", toAccountId: to?.id ?? "", amount: 5, currency: "EUR" },
        {
          fromAccountId: from?.id ?? "",
          toAccountId: to?.id ?? "",
          amount: 7,
          currency: "EUR",
          idempotencyKey: "find-key",
          requestHash: "abc",
        },
      ])
      .returning();

    const drizzleRow = async <T>(query: Promise<T[]>) => (await query)[0];
    const found = await userById(db, user?.id);
    expect(found).toEqual(
      await drizzleRow(
        db
          .select()
          .from(users)
          .where(eq(users.id, user?.id ?? "")),
      ),
    );
    expect(found?.createdAt).toBeInstanceOf(Date);
    expect(Object.keys(found ?? {})).toEqual(Object.keys(getTableColumns(users)));
    expect(await accountById(db, from?.id)).toEqual(from);
    expect((await accountById(db, from?.id))?.balance).toBe(9_007_199_254_740_000);
    expect(await transferById(db, keyed?.id)).toEqual(keyed);
    expect((await transferById(db, keyed?.id))?.idempotencyKey).toBeNull();
    expect(await transferByKey(db, "find-key")).toEqual(unkeyed);
  });

  it("returns undefined when no row matches", async () => {
    expect(await userById(get().db, MISSING)).toBeUndefined();
  });

  it("runs on a transaction's tx, and sees its uncommitted rows", async () => {
    const { db } = get();
    const seen = await withTransaction(db, async (tx) => {
      const [user] = await tx.insert(users).values(userRows(1, "find-tx")).returning();
      return userById(tx, user?.id);
    });
    expect(seen?.email).toMatch(/find-tx/);
  });

  it("rejects with an error the data layer maps (a malformed uuid is a 22P02)", async () => {
    const error = await userById(get().db, "not-a-uuid").catch((e: unknown) => e);
    const mapped = mapDatabaseError(error);
    expect(mapped).toBeInstanceOf(InvalidInputError);
    expect(mapped).toMatchObject({ code: "22P02" });
  });
}

const testDb = useTestDatabase();
const pglite = usePglite();

describe("preparedFindBy on embedded PGlite (Drizzle's prepared query)", () => {
  contract(pglite);
});

describe.skipIf(!onRealServer())(`preparedFindBy on postgres.js (${NEEDS_SERVER})`, () => {
  contract(() => testDb.database);

  // A pool of one, so that pg_prepared_statements (per session) shows what the pool did.
  const single = useDatabaseOn(() => testDb.url, { DATABASE_POOL_MAX: "1" });
  const slow = useDatabaseOn(() => testDb.url, { DATABASE_STATEMENT_TIMEOUT: "50" });

  it("goes through the instrumented pool: counted in the query metrics, prepared on the server", async () => {
    const database = single();
    const before = database.queryMetrics().queries;
    await userById(database.db, MISSING);
    await userById(database.db, MISSING);
    expect(database.queryMetrics().queries).toBe(before + 2);
    const [row] = await database.db
      .select({ n: count() })
      .from(sql`pg_prepared_statements`)
      .where(sql`statement like ${'%from "users" where "users"."id" = $1'}`);
    expect(row?.n).toBe(1);
  });

  it("is bounded by the pool's statement timeout like every other query", async () => {
    const database = slow();
    const error = await withTransaction(database.db, async (tx) => {
      await tx.execute(sql`lock table users in access exclusive mode`);
      // The root pool's other connection waits on the lock until statement_timeout cancels it.
      return userById(database.db, MISSING).catch((e: unknown) => e);
    }).catch((e: unknown) => e);
    expect(mapDatabaseError(error)).toBeInstanceOf(DatabaseTimeoutError);
  });
});
