/**
 * The data layer through a real PgBouncer in transaction pooling mode, with the documented
 * settings (DATABASE_POOLER=pgbouncer-transaction, DATABASE_PREPARE=false): more app
 * connections than server connections, so consecutive transactions of one app connection land
 * on different server sessions. Then what can't work through it, provoked for real on a pool of
 * one server connection (a session setting and a session advisory lock seen by another client),
 * and refused by the template with a clear error.
 */
import { randomUUID } from "node:crypto";
import { eq, sql, sum } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bulkInsert } from "../../../src/db/bulk.js";
import { createDatabase, type Database } from "../../../src/db/client.js";
import { SerializationFailureError } from "../../../src/db/errors.js";
import { SessionFeatureError } from "../../../src/db/pooler.js";
import { accounts, users } from "../../../src/db/schema/index.js";
import { streamQuery } from "../../../src/db/stream.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { ConfigError, parseConfig } from "../../../src/env.js";
import { connectForMigrations } from "../../../src/migrator/index.js";
import { type PgBouncer, pgbouncerUnavailable, startPgBouncer } from "../../setup/pgbouncer.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { barrier } from "../db/helpers.js";

const testDb = useTestDatabase();
const unavailable = onRealServer() ? pgbouncerUnavailable() : `skipped: ${NEEDS_SERVER}`;

const POOLED = { DATABASE_POOLER: "pgbouncer-transaction", DATABASE_PREPARE: "false" };

describe.skipIf(unavailable !== undefined)(
  `through PgBouncer, transaction mode ${unavailable ?? ""}`,
  () => {
    let pgbouncer: PgBouncer;
    let database: Database;
    const db = () => database.db;

    beforeAll(async () => {
      const url = testDb.url ?? "";
      // Two server connections for six app connections.
      pgbouncer = await startPgBouncer({ upstream: url, poolSize: 2 });
      const config = parseConfig({
        DATABASE_URL: pgbouncer.url(url),
        NODE_ENV: "test",
        DATABASE_POOL_MAX: "6",
        ...POOLED,
      });
      database = await createDatabase(config.database);
    });
    afterAll(async () => {
      await database?.close();
      await pgbouncer?.stop();
    });

    async function userWithAccounts(balances: number[]) {
      const [user] = await db()
        .insert(users)
        .values({ email: `pgb-${randomUUID()}@example.com`, name: "P" })
        .returning();
      if (!user) throw new Error("no user");
      const rows = await db()
        .insert(accounts)
        .values(balances.map((balance) => ({ userId: user.id, currency: "EUR", balance })))
        .returning();
      return { user, ids: rows.map((row) => row.id) };
    }

    it("runs concurrent transactions, savepoints and rollbacks on shared server connections", async () => {
      const { user, ids } = await userWithAccounts([0]);
      const [account = ""] = ids;
      const deposit = (amount: number, fail: boolean) =>
        withTransaction(db(), async (tx) => {
          await tx
            .update(accounts)
            .set({ balance: sql`${accounts.balance} + ${amount}` })
            .where(eq(accounts.id, account));
          // A savepoint rolled back inside a committed transaction.
          await withTransaction(tx, async (inner) => {
            await inner
              .update(accounts)
              .set({ balance: sql`${accounts.balance} + 1000` })
              .where(eq(accounts.id, account));
            throw new Error("undo the savepoint");
          }).catch(() => undefined);
          if (fail) throw new Error("roll back");
        }).then(
          () => "committed",
          () => "rolled back",
        );
      const outcomes = await Promise.all(
        Array.from({ length: 30 }, (_, i) => deposit(10, i % 3 === 0)),
      );
      expect(outcomes.filter((o) => o === "committed")).toHaveLength(20);
      const [row] = await db()
        .select({ total: sum(accounts.balance).mapWith(Number) })
        .from(accounts)
        .where(eq(accounts.userId, user.id));
      expect(row?.total).toBe(200);
    });

    it("retries a real serialization failure", async () => {
      const { user, ids } = await userWithAccounts([100, 100]);
      const bothChecked = barrier(2);
      const retried: unknown[] = [];
      const withdraw = (account: string) =>
        withTransaction(
          db(),
          async (tx, { attempt }) => {
            const [row] = await tx
              .select({ total: sum(accounts.balance).mapWith(Number) })
              .from(accounts)
              .where(eq(accounts.userId, user.id));
            if (attempt === 1) await bothChecked();
            if ((row?.total ?? 0) - 100 < 100) return "refused";
            await tx
              .update(accounts)
              .set({ balance: sql`${accounts.balance} - 100` })
              .where(eq(accounts.id, account));
            return "withdrawn";
          },
          { isolationLevel: "serializable", baseDelayMs: 5, onRetry: (e) => retried.push(e) },
        );
      const outcomes = await Promise.all(ids.map((id) => withdraw(id)));
      expect(outcomes.sort()).toEqual(["refused", "withdrawn"]);
      expect(retried[0]).toBeInstanceOf(SerializationFailureError);
    });

    it("bulk-inserts with COPY and streams through a cursor, each inside one transaction", async () => {
      const tag = randomUUID().slice(0, 8);
      const rows = Array.from({ length: 3_000 }, (_, i) => ({
        email: `pgb-bulk-${tag}-${i}@example.com`,
        name: `Bulk ${i}`,
      }));
      const result = await bulkInsert(db(), users, rows, { method: "copy" });
      expect(result).toEqual({ count: 3_000, method: "copy" });
      let streamed = 0;
      const query = db()
        .select({ email: users.email })
        .from(users)
        .where(sql`${users.email} like ${`pgb-bulk-${tag}-%`}`);
      for await (const row of streamQuery(database.db, query, { batchSize: 500 })) {
        expect(row.email).toContain(tag);
        streamed++;
      }
      expect(streamed).toBe(3_000);
    });

    it("pipelines many point reads over few server connections, each answer its own", async () => {
      const { ids } = await userWithAccounts([1, 2, 3, 4, 5, 6, 7, 8]);
      const reads = Array.from({ length: 400 }, (_, i) => ids[i % ids.length] ?? "");
      const balances = await Promise.all(
        reads.map(async (id) => {
          const [row] = await db().select().from(accounts).where(eq(accounts.id, id));
          return [id, row?.balance] as const;
        }),
      );
      for (const [id, balance] of balances) expect(balance).toBe(ids.indexOf(id) + 1);
    });

    it("refuses migrations through it, naming MIGRATION_DATABASE_URL", async () => {
      const config = parseConfig({
        DATABASE_URL: pgbouncer.url(testDb.url ?? ""),
        NODE_ENV: "test",
        ...POOLED,
      });
      const error = await connectForMigrations(config.database).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionFeatureError);
      expect(String((error as Error).message)).toMatch(/MIGRATION_DATABASE_URL/);
      const direct = parseConfig({
        DATABASE_URL: pgbouncer.url(testDb.url ?? ""),
        MIGRATION_DATABASE_URL: testDb.url ?? "",
        NODE_ENV: "test",
        ...POOLED,
      });
      expect(direct.migrationDatabase.pooler).toBe("none");
    });

    it("refuses named prepared statements behind it at configuration time", () => {
      const error = (() => {
        try {
          return parseConfig({
            DATABASE_URL: pgbouncer.url(testDb.url ?? ""),
            DATABASE_POOLER: "pgbouncer-transaction",
          });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        expect.objectContaining({ variable: "DATABASE_PREPARE" }),
      ]);
    });
  },
);

describe.skipIf(unavailable !== undefined)(
  `why session state is refused behind PgBouncer ${unavailable ?? ""}`,
  () => {
    let pgbouncer: PgBouncer;
    let alice: postgres.Sql;
    let bob: postgres.Sql;

    beforeAll(async () => {
      // One server connection: every client's transaction runs on the same server session.
      pgbouncer = await startPgBouncer({ upstream: testDb.url ?? "", poolSize: 1 });
      const url = pgbouncer.url(testDb.url ?? "");
      alice = postgres(url, { max: 1, prepare: false, onnotice: () => undefined });
      bob = postgres(url, { max: 1, prepare: false, onnotice: () => undefined });
    });
    afterAll(async () => {
      await alice?.end();
      await bob?.end();
      await pgbouncer?.stop();
    });

    it("a session SET by one client is seen by another", async () => {
      await alice.unsafe("select set_config('app.actor', 'alice', false)");
      const [row] = await bob.unsafe("select current_setting('app.actor', true) as actor");
      expect(row?.actor).toBe("alice");
      await alice.unsafe("reset app.actor");
    });

    it("a session advisory lock taken by one client is taken again by another", async () => {
      await alice.unsafe("select pg_advisory_lock(424242)");
      // The same server session: the lock is re-entrant, so the other client "gets" it too.
      const [row] = await bob.unsafe("select pg_try_advisory_lock(424242) as locked");
      expect(row?.locked).toBe(true);
      await bob.unsafe("select pg_advisory_unlock_all()");
    });
  },
);
