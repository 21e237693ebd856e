/**
 * Deterministic demo data (seeds/ledger.ts): by default about 1,000 users, one or two accounts
 * each, and a few thousand transfers whose effects are already reflected in the balances; any
 * size on request (`npm run db:seed -- --users 100000 --transfers 500000`).
 *
 * Loaded with `bulkInsert` (COPY through a staging table, on both drivers) in one transaction,
 * batch by batch so that memory stays flat and progress can be reported, then `VACUUM ANALYZE`.
 * Money is conserved: accounts are written with the balances their transfers leave, so each
 * currency's total is what the opening balances held, and every account's history adds up.
 *
 * Idempotent: a second run with the same options finds the data and inserts nothing. A run
 * with other options on a database holding demo data stops with `SeedMismatchError`, since
 * mixing two ledgers would leave balances that their transfers don't explain. So a load always
 * goes into tables without its rows, and a conflict is an error, not something to skip: plain
 * INSERTs from the staging table, a quarter faster than ON CONFLICT DO NOTHING at this size.
 */
import { sql } from "drizzle-orm";
import type { PgColumn, PgInsertValue, PgTable } from "drizzle-orm/pg-core";
import { bulkInsert } from "../src/db/bulk.js";
import type { AppDatabase } from "../src/db/client.js";
import { accounts, transfers, users } from "../src/db/schema/index.js";
import { withTransaction } from "../src/db/transaction.js";
import {
  createLedger,
  type Ledger,
  type LedgerOptions,
  type SeedAccount,
  simulateTransfers,
  transferBatches,
} from "./ledger.js";

export interface SeedProgress {
  /** The table being written. */
  table: "users" | "accounts" | "transfers";
  /** Rows written so far, all tables together. */
  rows: number;
  /** Rows of the whole load. */
  total: number;
}

export interface SeedOptions extends LedgerOptions {
  /** Rows per COPY; default 25,000 (memory stays flat, progress moves every second or so). */
  batchSize?: number;
  /** Called before the first batch and after each one. */
  onProgress?: (progress: SeedProgress) => void;
}

export interface SeedResult {
  users: number;
  accounts: number;
  transfers: number;
}

/** The database holds demo data of other options; the message says what to do. */
export class SeedMismatchError extends Error {
  override readonly name = "SeedMismatchError";
}

const DEFAULT_BATCH = 25_000;

/** Builds the rows in memory; pure, so tests can check determinism without a database. */
export function buildSeedData(options: LedgerOptions = {}) {
  const ledger = createLedger(options);
  const balances = ledger.accounts.map((account) => account.balance);
  const transferRows = [...transferBatches(ledger, Number.POSITIVE_INFINITY, balances)].flat();
  return {
    users: ledger.users,
    accounts: ledger.accounts.map((account, i) => ({ ...account, balance: balances[i] ?? 0 })),
    transfers: transferRows,
  };
}

/** Inserts the demo data; returns how many rows of each kind were new. */
export async function seed(db: AppDatabase, options: SeedOptions = {}): Promise<SeedResult> {
  const ledger = createLedger(options);
  const { closingBalances, lastTransferId } = simulateTransfers(ledger);
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  if (await alreadyLoaded(db, ledger, lastTransferId)) {
    return { users: 0, accounts: 0, transfers: 0 };
  }

  const total = ledger.users.length + ledger.accounts.length + ledger.transferCount;
  const closing: SeedAccount[] = ledger.accounts.map((account, i) => ({
    ...account,
    balance: closingBalances[i] ?? 0,
  }));
  const result = await withTransaction(db, async (tx) => {
    const inserted = { users: 0, accounts: 0, transfers: 0 };
    let rows = 0;
    const load = async <T extends typeof users | typeof accounts | typeof transfers>(
      table: SeedProgress["table"],
      target: T,
      batches: Iterable<PgInsertValue<T>[]>,
    ) => {
      for (const batch of batches) {
        // The default onConflict, "error": see the module comment.
        inserted[table] += (await bulkInsert(tx, target, batch)).count;
        rows += batch.length;
        options.onProgress?.({ table, rows, total });
      }
    };
    options.onProgress?.({ table: "users", rows, total });
    await load("users", users, slices(ledger.users, batchSize));
    await load("accounts", accounts, slices(closing, batchSize));
    await load("transfers", transfers, transferBatches(ledger, batchSize));
    return inserted;
  });
  if (result.users + result.accounts + result.transfers > 0) {
    // Statistics for the planner right away, and the visibility map set, so index-only scans
    // are possible as on a settled table (and a later autovacuum doesn't change plans).
    await db.execute(sql`vacuum (analyze) ${users}, ${accounts}, ${transfers}`);
  }
  return result;
}

function* slices<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) {
    yield items.slice(start, start + size);
  }
}

/**
 * True when this exact ledger is there already (its first and last user, last account and last
 * transfer), false when none of it is; throws `SeedMismatchError` when the first user exists but
 * the rest differs: demo data of another size or seed.
 */
async function alreadyLoaded(
  db: AppDatabase,
  ledger: Ledger,
  lastTransferId: string | undefined,
): Promise<boolean> {
  const [row] = await db
    .select({
      first: present(users, users.id, ledger.users[0]?.id),
      lastUser: present(users, users.id, ledger.users.at(-1)?.id),
      lastAccount: present(accounts, accounts.id, ledger.accounts.at(-1)?.id),
      lastTransfer: present(transfers, transfers.id, lastTransferId),
    })
    .from(sql`(select 1) as one`);
  if (!row?.first || ledger.users.length === 0) return false;
  if (row.lastUser && row.lastAccount && row.lastTransfer) return true;
  throw new SeedMismatchError(
    "the database holds demo data of other --users/--transfers/--seed values; adding this data " +
      "would leave balances its transfers don't explain: seed an empty database, or repeat the " +
      "options it was seeded with",
  );
}

/** Whether a row with this id exists; true when there is no id to look for. */
const present = (table: PgTable, column: PgColumn, id: string | undefined) =>
  id === undefined
    ? sql<boolean>`true`
    : sql<boolean>`exists (select 1 from ${table} where ${column} = ${id})`;
