/**
 * Parameter values for the catalogued queries, read from the seeded data itself so that each
 * plan is the one a real request gets: a user from the middle of the list, one of the busiest
 * accounts (its statement is where a bad plan hurts most), a transfer, and two accounts of one
 * currency with money to move. Works on PGlite and postgres.js alike.
 */
import { randomUUID } from "node:crypto";
import { and, asc, count, desc, eq, ne } from "drizzle-orm";
import type { AppDatabase } from "../../src/db/client.js";
import { encodeCursor } from "../../src/db/pagination.js";
import { listAccountTransfers } from "../../src/db/repositories/accounts.js";
import { accounts, transfers, users } from "../../src/db/schema/index.js";

export interface Sample {
  /** A page size the API accepts (1..100); differs between positions. */
  pageSize: number;
  userId: string;
  /** The cursor after `userId`: the next page starts in the middle of the list. */
  usersCursor: string;
  /** One of the ten busiest accounts. */
  accountId: string;
  /** The cursor after the first two transfers of `accountId`. */
  accountTransfersCursor: string;
  transferId: string;
  /** A transfer the sender can afford, under an idempotency key of its own. */
  newTransfer: { fromAccountId: string; toAccountId: string; amount: number; key: string };
}

/**
 * The sample at `position` (0 to 1) through the data: two positions give two samples whose
 * values all differ, which is what the hygiene test needs.
 */
export async function readSample(db: AppDatabase, position: number): Promise<Sample> {
  const at = (total: number) => Math.min(total - 1, Math.floor(position * total));
  const [userCount] = await db.select({ n: count() }).from(users);
  const [user] = await db
    .select({ id: users.id, createdAt: users.createdAt })
    .from(users)
    .orderBy(asc(users.createdAt), asc(users.id))
    .offset(at(userCount?.n ?? 0))
    .limit(1);
  const [busy] = await db
    .select({ id: transfers.fromAccountId })
    .from(transfers)
    .groupBy(transfers.fromAccountId)
    .orderBy(desc(count()), asc(transfers.fromAccountId))
    .offset(at(10))
    .limit(1);
  const [transferCount] = await db.select({ n: count() }).from(transfers);
  const [transfer] = await db
    .select({ id: transfers.id })
    .from(transfers)
    .orderBy(asc(transfers.id))
    .offset(at(transferCount?.n ?? 0))
    .limit(1);
  if (!user || !busy || !transfer) throw new Error("readSample needs a seeded database");
  const firstPage = await listAccountTransfers(db, busy.id, { limit: 2 });
  if (!firstPage.nextCursor) throw new Error(`account ${busy.id} has fewer than 3 transfers`);
  return {
    pageSize: 20 + Math.round(position * 10),
    userId: user.id,
    usersCursor: encodeCursor(user),
    accountId: busy.id,
    accountTransfersCursor: firstPage.nextCursor,
    transferId: transfer.id,
    newTransfer: await affordableTransfer(db, position),
  };
}

/** The richest account of a currency pays the next richest, `position`-dependent amount. */
async function affordableTransfer(db: AppDatabase, position: number) {
  const currency = position < 0.5 ? "EUR" : "USD";
  const [from] = await db
    .select({ id: accounts.id })
    .from(accounts)
    .where(eq(accounts.currency, currency))
    .orderBy(desc(accounts.balance), asc(accounts.id))
    .limit(1);
  if (!from) throw new Error(`no ${currency} account`);
  const [to] = await db
    .select({ id: accounts.id })
    .from(accounts)
    .where(and(eq(accounts.currency, currency), ne(accounts.id, from.id)))
    .orderBy(desc(accounts.balance), asc(accounts.id))
    .limit(1);
  if (!to) throw new Error(`only one ${currency} account`);
  return {
    fromAccountId: from.id,
    toAccountId: to.id,
    amount: 100 * (1 + Math.round(position * 10)),
    key: `plans-${randomUUID()}`,
  };
}
