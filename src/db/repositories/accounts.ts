import { and, asc, desc, eq, lt, or, sql } from "drizzle-orm";
import { unionAll } from "drizzle-orm/pg-core";
import type { AppDatabase, AppTransaction } from "../client.js";
import { decodeCursor, type KeysetCursor, toPage } from "../pagination.js";
import { currentActor } from "../schema/actor.js";
import { type Account, accounts, transfers } from "../schema/index.js";
import { preparedStatement } from "../statements.js";

export interface AccountInput {
  userId: string;
  currency: string;
  initialBalance?: number | undefined;
}

/** An unknown `userId` raises ForeignKeyViolationError (missing_reference). */
export async function createAccount(db: AppDatabase, input: AccountInput): Promise<Account> {
  const [account] = await db
    .insert(accounts)
    .values({ userId: input.userId, currency: input.currency, balance: input.initialBalance ?? 0 })
    .returning();
  if (!account) throw new Error("INSERT ... RETURNING returned no row");
  return account;
}

const accountById = preparedStatement("account_by_id", (db, name) =>
  db
    .select()
    .from(accounts)
    .where(eq(accounts.id, sql.placeholder("id")))
    .prepare(name),
);

export async function getAccount(db: AppDatabase, id: string): Promise<Account | undefined> {
  const [row] = await accountById(db).execute({ id });
  return row;
}

export async function listUserAccounts(db: AppDatabase, userId: string): Promise<Account[]> {
  return db
    .select()
    .from(accounts)
    .where(eq(accounts.userId, userId))
    .orderBy(asc(accounts.createdAt), asc(accounts.id));
}

/**
 * The accounts of the user the transaction acts for (`withActor`), oldest first. The policy on
 * `accounts` already holds the actor to its rows; the filter on the same setting is there so
 * that called outside `withActor`, on the service path, this returns nothing rather than
 * everyone's accounts.
 */
export async function listActorAccounts(tx: AppTransaction): Promise<Account[]> {
  return tx
    .select()
    .from(accounts)
    .where(sql`${accounts.userId} = ${currentActor}`)
    .orderBy(asc(accounts.createdAt), asc(accounts.id));
}

/**
 * Transfers in or out of an account, newest first. Two index scans (one per direction, each
 * already in key order and limited) merged by UNION ALL: an OR over both columns can't use
 * either index for ordering and would sort every transfer of a busy account.
 */
export async function listAccountTransfers(
  db: AppDatabase,
  accountId: string,
  options: { limit: number; cursor?: string },
) {
  const before = options.cursor ? decodeCursor(options.cursor) : undefined;
  const side = (column: typeof transfers.fromAccountId | typeof transfers.toAccountId) =>
    db
      .select()
      .from(transfers)
      .where(and(eq(column, accountId), before ? olderThan(before) : undefined))
      .orderBy(desc(transfers.createdAt), desc(transfers.id))
      .limit(options.limit + 1);
  const rows = await unionAll(side(transfers.fromAccountId), side(transfers.toAccountId))
    .orderBy(desc(transfers.createdAt), desc(transfers.id))
    .limit(options.limit + 1);
  return toPage(rows, options.limit);
}

function olderThan(cursor: KeysetCursor) {
  return or(
    lt(transfers.createdAt, cursor.createdAt),
    and(eq(transfers.createdAt, cursor.createdAt), lt(transfers.id, cursor.id)),
  );
}
