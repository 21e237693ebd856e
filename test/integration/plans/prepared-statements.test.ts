/**
 * The statements the server keeps prepared for the app stay bounded: the API, driven in-process
 * with many different ids, cursors, amounts and page sizes, prepares a fixed set of statements
 * (one per query shape), and ten times as many distinct request values prepare no new one.
 * A value spliced into SQL text instead of bound would add a statement per value, each parsed,
 * planned and held in the connection's memory until it closes.
 *
 * The pool has one connection, so `pg_prepared_statements` (which shows a session only its own
 * statements) sees everything the app prepared.
 */
import { randomUUID } from "node:crypto";
import { asc } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { seed } from "../../../seeds/index.js";
import { MAX_PREPARED_PARAMETERS } from "../../../src/db/driver/context.js";
import { accounts, transfers, users } from "../../../src/db/schema/index.js";
import { createTestApp } from "../../setup/app.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";

// Idle connections are kept (0: never closed), so the one connection lives through the test.
const testDb = useTestDatabase({ DATABASE_POOL_MAX: "1", DATABASE_IDLE_TIMEOUT: "0" });

describe.skipIf(!onRealServer())(
  `prepared statements under varied requests (${NEEDS_SERVER})`,
  () => {
    let api: ReturnType<typeof createTestApp>;
    let ids: { users: string[]; accounts: { id: string; currency: string }[]; transfers: string[] };

    beforeAll(async () => {
      await seed(testDb.db);
      api = createTestApp(testDb.database);
      ids = {
        users: (await testDb.db.select({ id: users.id }).from(users).orderBy(asc(users.id))).map(
          (row) => row.id,
        ),
        accounts: await testDb.db
          .select({ id: accounts.id, currency: accounts.currency })
          .from(accounts)
          .orderBy(asc(accounts.id)),
        transfers: (
          await testDb.db.select({ id: transfers.id }).from(transfers).orderBy(asc(transfers.id))
        ).map((row) => row.id),
      };
    });

    /** The statements prepared on the pool's one connection, by text. */
    async function prepared(): Promise<string[]> {
      const sql = testDb.database.sql;
      if (!sql) throw new Error("expected a postgres.js pool");
      const rows = await sql.unsafe<{ statement: string }[]>(
        "select statement from pg_prepared_statements order by statement",
        [],
        { prepare: false },
      );
      return rows.map((row) => row.statement);
    }

    const pick = <T>(items: readonly T[], i: number): T => {
      const item = items[i % items.length];
      if (item === undefined) throw new Error("nothing to pick from");
      return item;
    };

    /** `n` requests to every route that reads or writes the ledger, values drawn from `offset`. */
    async function drive(offset: number, n: number) {
      for (let k = offset; k < offset + n; k++) {
        const user = pick(ids.users, k * 7);
        const account = pick(ids.accounts, k * 11);
        const limit = 1 + (k % 100);
        const users = await api.raw("GET", `/users?limit=${limit}`);
        const next = users.body?.nextCursor;
        const requests: [string, string, unknown?, Record<string, string>?][] = [
          ["GET", `/users/${user}`],
          ["GET", `/users/${randomUUID()}`],
          ["GET", `/users/${user}/accounts`],
          ["GET", `/accounts/${account.id}`],
          ["GET", `/accounts/${account.id}/transfers?limit=${limit}`],
          ["GET", `/transfers/${pick(ids.transfers, k * 13)}`],
          ["GET", "/stats"],
          ["POST", "/users", { email: `varied-${k}-${randomUUID()}@example.com`, name: `N${k}` }],
          ["PATCH", `/users/${user}`, { name: `Renamed ${k}` }],
          ["POST", "/accounts", { userId: user, currency: account.currency }],
        ];
        if (typeof next === "string")
          requests.push(["GET", `/users?limit=${limit}&cursor=${next}`]);
        const to = ids.accounts.find((a) => a.currency === account.currency && a.id !== account.id);
        if (to) {
          const body = { fromAccountId: account.id, toAccountId: to.id, amount: 1 + (k % 5) };
          requests.push([
            "POST",
            "/transfers",
            body,
            { "idempotency-key": `varied-${k}-${randomUUID()}` },
          ]);
          requests.push(["POST", "/transfers", body]);
        }
        for (const [method, path, body, headers] of requests) {
          const res = await api.raw(method, path, body, headers);
          expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
        }
      }
    }

    it("prepares one statement per query shape, however many distinct values the requests carry", async () => {
      await drive(0, 10);
      const warm = await prepared();
      expect(warm.length).toBeGreaterThan(5);
      // Ten times more requests, every id, cursor, key, email and amount new.
      await drive(10, 100);
      expect(await prepared()).toEqual(warm);
    }, 120_000);

    it("prepares bulk inserts once per row count, up to the parameter bound, never per value", async () => {
      const before = new Set(await prepared());
      const bulk = async (size: number, tag: string) => {
        const rows = Array.from({ length: size }, (_, i) => ({
          email: `bulk-${tag}-${size}-${i}-${randomUUID()}@example.com`,
          name: "Bulk",
        }));
        const res = await api.raw("POST", "/users/bulk", { users: rows });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
      };
      for (let size = 1; size <= 60; size++) await bulk(size, "a");
      const added = (await prepared()).filter((statement) => !before.has(statement));
      // Two columns (email, name): row counts up to the bound are prepared, larger ones are not.
      // Besides the inserts, a bulk request may be the first in this file to run the request
      // transaction's own statements (the audit actor's set_config): a fixed few, not per size.
      const inserts = added.filter((statement) => /^insert into "users"/i.test(statement));
      expect(inserts.length).toBeLessThanOrEqual(MAX_PREPARED_PARAMETERS / 2);
      expect(added.length - inserts.length).toBeLessThanOrEqual(2);
      const afterSizes = await prepared();
      for (let size = 1; size <= 60; size++) await bulk(size, "b");
      expect(await prepared()).toEqual(afterSizes);
    }, 120_000);
  },
);
