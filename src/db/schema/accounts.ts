import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  index,
  pgPolicy,
  pgTable,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";
import { actorRole, currentActor } from "./actor.js";
import { users } from "./users.js";

export const accounts = pgTable(
  "accounts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      // RESTRICT: a user with accounts can't be deleted (the API answers 409 conflict).
      .references(() => users.id, { onDelete: "restrict" }),
    currency: text("currency").notNull(),
    // Money is bigint minor units. The upper bound keeps every balance a safe JSON number.
    balance: bigint("balance", { mode: "number" }).notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    // Last change to the row (balance moves). Drizzle adds `updated_at = now()` to every
    // UPDATE it builds for this table, so repositories need not remember to set it.
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 })
      .notNull()
      .defaultNow()
      .$onUpdate(() => sql`now()`),
  },
  (t) => [
    index("accounts_user_id_created_at_idx").on(t.userId, t.createdAt, t.id),
    // "Accounts changed since": incremental exports and reconciliation, keyset-paginated.
    index("accounts_updated_at_id_idx").on(t.updatedAt, t.id),
    check("accounts_balance_non_negative", sql`${t.balance} >= 0`),
    check("accounts_balance_safe_integer", sql`${t.balance} <= 9007199254740991`),
    check("accounts_currency_iso", sql`${t.currency} ~ '^[A-Z]{3}$'`),
    // Row-level security (FORCE, so the owner too; superusers bypass it). Every role that may
    // use the table sees every row (the service path, reporting), except the actor, which is
    // held to the acting user's rows by a restrictive policy ANDed with this one.
    pgPolicy("accounts_all_rows", {
      as: "permissive",
      for: "all",
      to: "public",
      using: sql`true`,
      withCheck: sql`true`,
    }),
    pgPolicy("accounts_actor_rows", {
      as: "restrictive",
      for: "all",
      to: actorRole,
      using: sql`${t.userId} = ${currentActor}`,
      withCheck: sql`${t.userId} = ${currentActor}`,
    }),
  ],
);

export type Account = typeof accounts.$inferSelect;
export type NewAccount = typeof accounts.$inferInsert;
