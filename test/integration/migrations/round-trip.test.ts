import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../../src/db/client.js";
import { accounts } from "../../../src/db/schema/index.js";
import {
  type MigrationConnection,
  migrateUp,
  readMigrationFolder,
  verifyRoundTrips,
} from "../../../src/migrator/index.js";
import { MIGRATIONS_FOLDER } from "../../../src/migrator/migrate.js";
import { createEmptyDatabase, writeMigrationFolder } from "./helpers.js";

/**
 * Rows in the template's tables as they are before any later migration: a user with three
 * accounts, a transfer between two of them. Written against 0000_init's columns on purpose.
 */
async function seedTemplateRows(connection: MigrationConnection): Promise<void> {
  const [exists] = await connection.query<{ found: boolean }>(
    "select to_regclass('public.transfers') is not null as found",
  );
  if (!exists?.found) return;
  const [user] = await connection.query<{ id: string }>(
    `insert into users (email, name) values ('seed-' || gen_random_uuid() || '@example.com', 'Seed')
     returning id`,
  );
  const [from, to] = await connection.query<{ id: string }>(
    `insert into accounts (user_id, currency, balance, created_at)
     values ($1, 'EUR', 500, now() - interval '2 days'), ($1, 'EUR', 0, now() - interval '2 days'),
            ($1, 'USD', 0, now() - interval '3 days')
     returning id`,
    [user?.id],
  );
  await connection.query(
    `insert into transfers (from_account_id, to_account_id, amount, currency, created_at)
     values ($1, $2, 100, 'EUR', now() - interval '1 day')`,
    [from?.id, to?.id],
  );
}

describe("up -> down -> up round trips", () => {
  it("holds for every template migration, and lossless downs keep seeded rows", async () => {
    const db = await createEmptyDatabase();
    const report = await verifyRoundTrips(await db.connect(), {
      folder: MIGRATIONS_FOLDER,
      seed: seedTemplateRows,
    });

    expect(report.problems).toEqual([]);
    const migrations = readMigrationFolder(MIGRATIONS_FOLDER);
    expect(report.migrations.map((m) => m.tag)).toEqual(migrations.map((m) => m.tag));
    for (const checked of report.migrations.filter((m) => m.lossless)) {
      expect(checked.rowsCompared, checked.tag).toBeGreaterThan(0);
    }
    expect(report.migrations.find((m) => m.tag === "0001_accounts_updated_at")?.lossless).toBe(
      true,
    );
  });

  it("reports a down that leaves something behind", async () => {
    const db = await createEmptyDatabase();
    const folder = writeMigrationFolder([
      {
        tag: "0000_a",
        sql: 'CREATE TABLE "a" ("id" int);--> statement-breakpoint\nCREATE INDEX "a_id_idx" ON "a" ("id");',
        down: 'DROP INDEX "a_id_idx";--> statement-breakpoint\nDROP TABLE "a";',
      },
      {
        tag: "0001_b",
        sql: 'ALTER TABLE "a" ADD COLUMN "b" text NOT NULL DEFAULT \'x\';--> statement-breakpoint\nCREATE INDEX "a_b_idx" ON "a" ("b");',
        down: 'ALTER TABLE "a" ALTER COLUMN "b" DROP NOT NULL;', // forgets the column and index
      },
    ]);
    const report = await verifyRoundTrips(await db.connect(), { folder });
    expect(report.problems).toHaveLength(2);
    expect(report.problems[0]).toMatch(/^0001_b: the schema after the down differs/);
    expect(report.problems[0]).toContain(
      "columns: + public.a #2 b text notnull=f default='x'::text",
    );
    expect(report.problems[0]).toContain("indexes: + CREATE INDEX a_b_idx");
    expect(report.problems[1]).toMatch(
      /^0001_b: re-applying the up after the down failed: .*column "b" of relation "a" already exists/,
    );
  });

  it("reports a down marked lossless that loses rows", async () => {
    const db = await createEmptyDatabase();
    const folder = writeMigrationFolder([
      { tag: "0000_a", sql: 'CREATE TABLE "a" ("id" int, "note" text);', down: 'DROP TABLE "a";' },
      {
        tag: "0001_retype",
        sql: 'ALTER TABLE "a" ALTER COLUMN "note" TYPE varchar(3) USING left("note", 3);',
        down: '-- lossless (wrongly)\nALTER TABLE "a" ALTER COLUMN "note" TYPE text;',
      },
    ]);
    const report = await verifyRoundTrips(await db.connect(), {
      folder,
      seed: async (connection, next) => {
        if (next.tag === "0001_retype") {
          await connection.execute(`insert into "a" values (1, 'truncated')`);
        }
      },
    });
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatch(/^0001_retype: the down is marked lossless but rows differ/);
    expect(report.problems[0]).toContain('- {"id": 1, "note": "truncated"}');
  });
});

describe("0001_accounts_updated_at", () => {
  it("backfills from the newest transfer, and Drizzle updates keep it current", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    await migrateUp(connection, { folder: MIGRATIONS_FOLDER, to: "0000_init" });
    await seedTemplateRows(connection);
    await migrateUp(connection, { folder: MIGRATIONS_FOLDER, to: "0001_accounts_updated_at" });

    const rows = await connection.query<{ id: string; backfilled: boolean; moved: boolean }>(
      `select a.id, a.updated_at = coalesce(
          (select max(t.created_at) from transfers t
            where a.id in (t.from_account_id, t.to_account_id)), a.created_at) as backfilled,
          a.updated_at > a.created_at as moved
         from accounts a order by a.id`,
    );
    expect(rows.map((row) => row.backfilled)).toEqual([true, true, true]);
    // The two accounts of the transfer moved a day after creation; the idle one never did.
    expect(rows.map((row) => row.moved).toSorted()).toEqual([false, true, true]);

    // The app's own Drizzle instance sets updated_at on every update, without being told to.
    await db.release();
    const database = await createDatabase(db.config);
    try {
      const id = rows[0]?.id ?? "";
      const [before] = await database.db.select().from(accounts).where(eq(accounts.id, id));
      await database.db.update(accounts).set({ balance: 1 }).where(eq(accounts.id, id));
      const [after] = await database.db.select().from(accounts).where(eq(accounts.id, id));
      expect(after?.updatedAt.getTime()).toBeGreaterThan(before?.updatedAt.getTime() ?? Infinity);
    } finally {
      await database.close();
    }
  });
});
