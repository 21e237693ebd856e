import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  index,
  pgPolicy,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { accounts } from "./accounts.js";
import { actorRole, currentActor } from "./actor.js";

/** The acting user's account ids (the accounts policy applies inside it too). */
const ownAccountIds = sql`select ${accounts.id} from ${accounts} where ${accounts.userId} = ${currentActor}`;

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
    // Row-level security, as on accounts: everyone who may use the table sees every row but
    // the actor, who sees transfers in or out of the acting user's accounts and may only move
    // money out of one of them.
    pgPolicy("transfers_all_rows", {
      as: "permissive",
      for: "all",
      to: "public",
      using: sql`true`,
      withCheck: sql`true`,
    }),
    pgPolicy("transfers_actor_rows", {
      as: "restrictive",
      for: "all",
      to: actorRole,
      using: sql`${t.fromAccountId} in (${ownAccountIds}) or ${t.toAccountId} in (${ownAccountIds})`,
      withCheck: sql`${t.fromAccountId} in (${ownAccountIds})`,
    }),
  ],
);

export type Transfer = typeof transfers.$inferSelect;
export type NewTransfer = typeof transfers.$inferInsert;
