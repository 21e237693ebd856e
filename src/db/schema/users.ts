import { sql } from "drizzle-orm";
import { check, index, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    email: text("email").notNull(),
    name: text("name").notNull(),
    // Millisecond precision: a JS Date holds the value exactly, so keyset cursors round-trip.
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    // Case-insensitive uniqueness enforced by PostgreSQL, not by a read-then-write in the app.
    uniqueIndex("users_email_lower_key").on(sql`lower(${t.email})`),
    // Keyset pagination: ORDER BY created_at, id.
    index("users_created_at_id_idx").on(t.createdAt, t.id),
    check("users_name_length", sql`char_length(${t.name}) between 1 and 200`),
    check("users_email_length", sql`char_length(${t.email}) between 3 and 320`),
  ],
);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
