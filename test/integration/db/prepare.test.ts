/** ADR 0003: which statements become named (prepared) statements on the server. */
import { count, eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { bulkInsert } from "../../../src/db/bulk.js";
import type { Database } from "../../../src/db/client.js";
import { users } from "../../../src/db/schema/index.js";
import { streamQuery } from "../../../src/db/stream.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { useDatabaseOn, userRows } from "./helpers.js";

const testDb = useTestDatabase();
// Pools of one, so that pg_prepared_statements (per session) shows everything the pool did.
const preparing = useDatabaseOn(() => testDb.url, { DATABASE_POOL_MAX: "1" });
const notPreparing = useDatabaseOn(() => testDb.url, {
  DATABASE_POOL_MAX: "1",
  DATABASE_PREPARE: "false",
});

async function prepared(database: Database, like: string) {
  const [row] = await database.db
    .select({ n: count() })
    .from(sql`pg_prepared_statements`)
    .where(sql`statement like ${like}`);
  return row?.n ?? 0;
}

describe.skipIf(!onRealServer())(`prepared statements (${NEEDS_SERVER})`, () => {
  const byId = (database: Database) =>
    database.db.select().from(users).where(eq(users.id, "00000000-0000-4000-8000-000000000000"));

  it("prepares Drizzle's parameterized queries once per connection with DATABASE_PREPARE=true", async () => {
    for (let i = 0; i < 3; i++) await byId(preparing());
    expect(await prepared(preparing(), '%where "users"."id" = $1')).toBe(1);
  });

  it("prepares nothing with DATABASE_PREPARE=false", async () => {
    for (let i = 0; i < 3; i++) await byId(notPreparing());
    expect(await prepared(notPreparing(), "%")).toBe(0);
  });

  it("never prepares bulk statements or a cursor's DECLARE", async () => {
    const database = preparing();
    const rows = userRows(150, "prep");
    await bulkInsert(database.db, users, rows, { method: "insert" });
    const query = database.db
      .select()
      .from(users)
      .where(
        inArray(
          users.email,
          rows.slice(0, 3).map((r) => r.email),
        ),
      );
    for (let i = 0; i < 3; i++) for await (const _row of streamQuery(database.db, query)) break;
    expect(await prepared(database, "insert %")).toBe(0);
    expect(await prepared(database, "declare %")).toBe(0);
  });
});
