import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  index,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { accounts } from "./accounts.js";

export const transfers = pgTable(
  "transfers",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    fromAccountId: uuid("from_account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "restrict" }),
    toAccountId: uuid("to_account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "restrict" }),
    amount: bigint("amount", { mode: "number" }).notNull(),
    currency: text("currency").notNull(),
    // Idempotency is the database's job: a unique key means two concurrent replays can't both
    // commit. NULLs don't collide, so requests without a key are unaffected.
    idempotencyKey: text("idempotency_key"),
    // SHA-256 of the request body that created the transfer, to tell a replay from key reuse.
    requestHash: text("request_hash"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("transfers_idempotency_key_key").on(t.idempotencyKey),
    // Per-account history, newest first; also the foreign-key indexes.
    index("transfers_from_account_created_at_idx").on(t.fromAccountId, t.createdAt, t.id),
    index("transfers_to_account_created_at_idx").on(t.toAccountId, t.createdAt, t.id),
    check("transfers_amount_positive", sql`${t.amount} > 0`),
    check("transfers_distinct_accounts", sql`${t.fromAccountId} <> ${t.toAccountId}`),
    check("transfers_currency_iso", sql`${t.currency} ~ '^[A-Z]{3}$'`),
  ],
);

export type Transfer = typeof transfers.$inferSelect;
export type NewTransfer = typeof transfers.$inferInsert;
