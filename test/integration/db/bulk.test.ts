import { count, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { bulkInsert, COPY_THRESHOLD, STAGED_COPY_THRESHOLD } from "../../../src/db/bulk.js";
import type { Database } from "../../../src/db/client.js";
import { UniqueViolationError } from "../../../src/db/errors.js";
import { users } from "../../../src/db/schema/index.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { usePglite, userRows } from "./helpers.js";

const testDb = useTestDatabase();
const pglite = usePglite();

const countUsers = async (database: Database) =>
  (await database.db.select({ n: count() }).from(users))[0]?.n ?? 0;

/** The same contract on both drivers, both methods. */
function bulkContract(database: () => Database, size: number) {
  it.each(["copy", "insert"] as const)(
    "%s: a duplicate near the end leaves the table unchanged (all or nothing)",
    async (method) => {
      const { db } = database();
      await db.insert(users).values(userRows(3, "pre")); // rows that must survive untouched
      const before = await countUsers(database());
      const rows = userRows(size, `dup-${method}`);
      const at = Math.floor(size * 0.6);
      // Case-insensitive unique index: differs from row 10 only in case.
      rows[at] = { email: (rows[10]?.email ?? "").toUpperCase(), name: "dup" };

      const error = await bulkInsert(db, users, rows, { method }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(UniqueViolationError);
      expect(error).toMatchObject({ constraint: "users_email_lower_key", columns: ["email"] });
      expect(await countUsers(database())).toBe(before);
    },
  );

  it.each(["copy", "insert"] as const)(
    "%s: counts inserted rows, and skips conflicts (in the table and in the batch) with do-nothing",
    async (method) => {
      const { db } = database();
      const rows = userRows(50, `conflict-${method}`);
      expect(await bulkInsert(db, users, rows.slice(0, 20), { method })).toEqual({
        count: 20,
        method,
      });
      // Row 45 again, in other case: skipped too, although no stored row has it yet.
      const withRepeat = [...rows, { name: "again", email: rows[45]?.email.toUpperCase() ?? "" }];
      const again = await bulkInsert(db, users, withRepeat, { method, onConflict: "do-nothing" });
      expect(again).toEqual({ count: 30, method });
    },
  );

  it("upserts by INSERT, with a SET on columns the rows don't write", async () => {
    const { db } = database();
    const rows = userRows(30, "upsert");
    await bulkInsert(db, users, rows);
    const stored = await db
      .select({ id: users.id, email: users.email, name: users.name })
      .from(users)
      .where(
        inArray(
          users.email,
          rows.map((r) => r.email),
        ),
      );
    const stamp = new Date("2030-01-01T00:00:00.000Z");
    const upsert = await bulkInsert(db, users, stored, {
      onConflict: { target: users.id, set: { name: sql`'upserted'`, updatedAt: stamp } },
    });
    expect(upsert).toEqual({ count: 30, method: "insert" });
    const after = await db
      .select({ name: users.name, updatedAt: users.updatedAt })
      .from(users)
      .where(
        inArray(
          users.id,
          stored.map((u) => u.id),
        ),
      );
    expect(after).toHaveLength(30);
    expect(
      after.every((u) => u.name === "upserted" && u.updatedAt.getTime() === stamp.getTime()),
    ).toBe(true);
    await expect(
      bulkInsert(db, users, stored, {
        method: "copy",
        onConflict: { target: users.id, set: { name: "x" } },
      }),
    ).rejects.toThrow(TypeError);
  });

  it("joins the caller's transaction as a savepoint", async () => {
    const { db } = database();
    const before = await countUsers(database());
    await expect(
      withTransaction(db, async (tx) => {
        await bulkInsert(tx, users, userRows(COPY_THRESHOLD + 5, "in-tx"));
        throw new Error("caller rolls back");
      }),
    ).rejects.toThrow("caller rolls back");
    expect(await countUsers(database())).toBe(before);
  });

  it("picks COPY from the threshold, INSERT below it and for rows COPY can't express", async () => {
    const { db } = database();
    expect((await bulkInsert(db, users, userRows(COPY_THRESHOLD - 1, "small"))).method).toBe(
      "insert",
    );
    expect((await bulkInsert(db, users, userRows(COPY_THRESHOLD, "large"))).method).toBe("copy");
    // ON CONFLICT goes through a staging table, which pays off later.
    const doNothing = { onConflict: "do-nothing" } as const;
    expect((await bulkInsert(db, users, userRows(COPY_THRESHOLD, "s"), doNothing)).method).toBe(
      "insert",
    );
    expect(
      (await bulkInsert(db, users, userRows(STAGED_COPY_THRESHOLD, "l"), doNothing)).method,
    ).toBe("copy");
    // Some rows give created_at, others leave it to its SQL default: INSERT can, COPY can't.
    const mixed = userRows(COPY_THRESHOLD, "mixed").map((row, i) =>
      i % 2 ? { ...row, createdAt: new Date("2026-01-01T00:00:00.000Z") } : row,
    );
    expect((await bulkInsert(db, users, mixed)).method).toBe("insert");
    await expect(bulkInsert(db, users, mixed, { method: "copy" })).rejects.toThrow(TypeError);
  });
}

describe("bulkInsert on embedded PGlite", () => {
  bulkContract(pglite, 5_000);
});

describe.skipIf(!onRealServer())(`bulkInsert on postgres.js (${NEEDS_SERVER})`, () => {
  bulkContract(() => testDb.database, 100_000);
});
