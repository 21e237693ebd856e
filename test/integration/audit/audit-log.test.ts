/**
 * The audit log (migration 0002_audit_log, src/audit): what the triggers record for the API's
 * writes, that the log refuses changes from every role, that concurrent writers keep one chain,
 * and that `verifyAuditLog` finds each kind of tampering an owner can do with the guard triggers
 * disabled. Each tampering test gets a database of its own.
 */
import { asc, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { verifyAuditLog } from "../../../src/audit/verify.js";
import type { AppDatabase } from "../../../src/db/client.js";
import { mapDatabaseError } from "../../../src/db/errors.js";
import { auditLog, users } from "../../../src/db/schema/index.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { createTestDatabase, useTestDatabase } from "../../setup/test-database.js";
import { TOKEN_ACTOR, tamper, writeLedger } from "./helpers.js";

const testDb = useTestDatabase();

const entries = (db: AppDatabase) => db.select().from(auditLog).orderBy(asc(auditLog.seq));

/** A fresh database with a ledger of 6 audit entries, dropped after `work`. */
async function withLedger(work: (db: AppDatabase) => Promise<void>) {
  const scratch = await createTestDatabase();
  try {
    await writeLedger(scratch.database);
    await work(scratch.database.db);
  } finally {
    await scratch.drop();
  }
}

describe("audit log entries", () => {
  it("records the API's writes with actor, request id, old and new values, in order", async () => {
    const before = (await entries(testDb.db)).length;
    const { user, from, to } = await writeLedger(testDb.database);
    const rows = (await entries(testDb.db)).slice(before);

    expect(rows.map((r) => [r.tableName, r.operation, r.requestId])).toEqual([
      ["users", "INSERT", "req-user"],
      ["accounts", "INSERT", "req-from"],
      ["accounts", "INSERT", "req-to"],
      // Debit, credit (locked and updated in id order), then the transfer.
      ...[from.id, to.id].sort().map(() => ["accounts", "UPDATE", "req-t0"]),
      ["transfers", "INSERT", "req-t0"],
    ]);
    for (const row of rows) {
      expect(row.actor).toBe(TOKEN_ACTOR);
      expect(row.dbUser).toBeTruthy();
      expect(row.occurredAt).toBeInstanceOf(Date);
    }
    expect(rows[0]).toMatchObject({ rowId: user.id, oldValues: null });
    const debit = rows.find((r) => r.operation === "UPDATE" && r.rowId === from.id);
    expect(debit?.oldValues).toMatchObject({ balance: 1_000 });
    expect(debit?.newValues).toMatchObject({ balance: 990 });
    // The three writes of one transfer share a transaction id.
    expect(new Set(rows.slice(3).map((r) => r.transactionId)).size).toBe(1);
  });

  it("records changes made outside the app, without actor or request id", async () => {
    const [user] = await testDb.db
      .insert(users)
      .values({ email: "outside@example.com", name: "Outside" })
      .returning();
    const rows = await testDb.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.rowId, user?.id ?? ""));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: null, requestId: null, operation: "INSERT" });
  });

  it("refuses UPDATE, DELETE, TRUNCATE and direct INSERT, whatever the role", async () => {
    await writeLedger(testDb.database);
    const refused = [
      "update audit_log set actor = 'someone else'",
      "delete from audit_log",
      "truncate audit_log",
      "insert into audit_log select * from audit_log limit 1",
      "update audit_chain set seq = 0",
      "delete from audit_chain",
    ];
    for (const statement of refused) {
      const error = await testDb.db.execute(sql.raw(statement)).catch(mapDatabaseError);
      expect(error, statement).toMatchObject({ code: "42501" });
    }
    expect((await verifyAuditLog(testDb.db)).ok).toBe(true);
  });

  it("keeps one chain under concurrent writers", async () => {
    await writeLedger(testDb.database, 25);
    const report = await verifyAuditLog(testDb.db, { batchSize: 7 });
    expect(report.problems).toEqual([]);
    const seqs = (await entries(testDb.db)).map((r) => r.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(report.head.seq).toBe(seqs.length);
  });

  it("refuses a transaction setting that is not a custom one", async () => {
    await expect(
      withTransaction(testDb.db, async () => 1, { settings: { work_mem: "1GB" } }),
    ).rejects.toThrow(RangeError);
  });
});

// Each case builds a database of its own (a PGlite one loads a snapshot): more than the default.
describe("verifyAuditLog finds tampering", { timeout: 90_000 }, () => {
  it("passes an intact log and reports its head", async () => {
    await withLedger(async (db) => {
      const report = await verifyAuditLog(db);
      expect(report).toMatchObject({ ok: true, entries: 6, problems: [] });
      expect(report.head.seq).toBe(6);
      expect(report.head.hash).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  it("an edited entry", async () => {
    await withLedger(async (db) => {
      await tamper(db, "update audit_log set actor = 'someone else' where seq = 3");
      const report = await verifyAuditLog(db);
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([expect.objectContaining({ kind: "edited", seq: 3 })]);
    });
  });

  it("an entry deleted from the middle, the end, or with the whole last transaction", async () => {
    await withLedger(async (db) => {
      await tamper(db, "delete from audit_log where seq = 2");
      const middle = await verifyAuditLog(db);
      expect(middle.problems[0]).toMatchObject({ kind: "missing", seq: 3 });
      expect(middle.problems[0]?.message).toContain("entries 2 are missing");
    });
    await withLedger(async (db) => {
      // The transfer's own entry, last of its transaction: the chain can't tell, the rows can.
      await tamper(db, "delete from audit_log where seq = 6");
      const end = await verifyAuditLog(db);
      expect(end.problems).toEqual([expect.objectContaining({ kind: "unaudited_row" })]);
    });
    await withLedger(async (db) => {
      await tamper(db, "delete from audit_log where seq >= 4");
      const last = await verifyAuditLog(db);
      expect(last.problems[0]).toMatchObject({ kind: "missing", seq: 4 });
      expect(last.problems[0]?.message).toContain("deleted from the end");
    });
  });

  it("an entry rewritten with a recomputed hash, and a rewritten head", async () => {
    await withLedger(async (db) => {
      await tamper(
        db,
        "update audit_log set new_values = jsonb_set(new_values, '{balance}', '5000') where seq = 2",
        `update audit_log set hash = encode(sha256(decode(prev_hash, 'hex') ||
           convert_to(audit_log_payload(audit_log), 'UTF8')), 'hex') where seq = 2`,
      );
      const report = await verifyAuditLog(db);
      expect(report.problems[0]).toMatchObject({ kind: "relinked", seq: 3 });
    });
    await withLedger(async (db) => {
      await tamper(db, "update audit_chain set hash = repeat('f', 64)");
      const report = await verifyAuditLog(db);
      expect(report.problems).toEqual([expect.objectContaining({ kind: "head_mismatch" })]);
    });
  });

  it("a disabled audit trigger, and the balance changed while it was off", async () => {
    await withLedger(async (db) => {
      await db.execute(sql.raw("alter table accounts disable trigger audit_accounts"));
      await db.execute(sql.raw("update accounts set balance = balance + 1000000"));
      const off = await verifyAuditLog(db);
      expect(off.problems.map((p) => p.kind).sort()).toEqual([
        "balance_mismatch",
        "balance_mismatch",
        "trigger_disabled",
      ]);
      await db.execute(sql.raw("alter table accounts enable trigger audit_accounts"));
      const on = await verifyAuditLog(db);
      expect(on.problems.map((p) => p.kind)).toEqual(["balance_mismatch", "balance_mismatch"]);
    });
  });
});
