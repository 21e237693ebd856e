import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  index,
  jsonb,
  pgTable,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

/**
 * The audit trail of money movements and of changes to users and accounts (docs/security.md,
 * "Audit log"). Rows are written only by the triggers of migration 0002_audit_log, at commit, in
 * the same transaction as the change; a trigger refuses UPDATE, DELETE and TRUNCATE for every
 * role. Each row's `hash` is sha256(`prev_hash` || its canonical content), so `npm run db:audit --
 * --verify` finds an edited, deleted or inserted row.
 */
export const auditLog = pgTable(
  "audit_log",
  {
    // Gapless: assigned from `audit_chain` under its row lock, never from a sequence (which
    // skips numbers on rollback), so a missing number is a deleted row.
    seq: bigint("seq", { mode: "number" }).primaryKey(),
    // The change's transaction time (now()): every row of one transaction has the same.
    occurredAt: timestamp("occurred_at", { withTimezone: true }).notNull(),
    transactionId: bigint("transaction_id", { mode: "number" }).notNull(),
    tableName: text("table_name").notNull(),
    operation: text("operation").notNull(),
    // The changed row's id; NULL for a TRUNCATE, which has no rows.
    rowId: text("row_id"),
    // What the app passed with set_config('app.actor' / 'app.request_id', ..., true); NULL for
    // changes made outside it (psql, migrations, the seed).
    actor: text("actor"),
    requestId: text("request_id"),
    // The role that logged in (session_user): who made the change when `actor` is NULL.
    dbUser: text("db_user").notNull(),
    oldValues: jsonb("old_values"),
    newValues: jsonb("new_values"),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [
    // The last audited state of a row: db:audit --verify reconciles balances with it.
    index("audit_log_table_row_seq_idx").on(t.tableName, t.rowId, t.seq),
    check("audit_log_operation", sql`${t.operation} in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')`),
    check("audit_log_hash_hex", sql`${t.hash} ~ '^[0-9a-f]{64}$'`),
  ],
);

/**
 * The chain's head: one row, whose lock appenders take at commit and hold until their commit
 * ends, which serializes them so that two transactions can't both append after the same entry.
 * It records where the last appending transaction started: `seq` of its first entry, and `hash`
 * the hash before it (updated once per transaction, not per entry: a row updated per entry would
 * keep a dead version per entry until the commit, making bulk loads quadratic).
 */
export const auditChain = pgTable(
  "audit_chain",
  {
    id: boolean("id").primaryKey().default(true),
    seq: bigint("seq", { mode: "number" }).notNull().default(0),
    // 64 zeros: the "previous hash" of the first row.
    hash: text("hash").notNull().default(sql`repeat('0', 64)`),
  },
  (t) => [check("audit_chain_single_row", sql`${t.id}`)],
);

export type AuditLogEntry = typeof auditLog.$inferSelect;
