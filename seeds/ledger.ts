/**
 * The demo ledger as data: users with one or two accounts each, and transfers between accounts
 * of one currency, simulated in order so that every transfer was affordable when it happened.
 * Pure and deterministic (seeds/random.ts): the same options give the same rows on every machine.
 *
 * Transfers come in batches, so a load of millions never holds them all in memory. The accounts
 * must be written before the transfers that reference them, with the balances those transfers
 * leave behind; `simulateTransfers` finds those balances in a first pass over the same sequence
 * (`Random.fork`) whose rows are thrown away.
 *
 * @example
 * const ledger = createLedger({ users: 100_000, transfers: 500_000 });
 * const { closingBalances } = simulateTransfers(ledger);
 * for (const batch of transferBatches(ledger, 25_000)) await bulkInsert(tx, transfers, batch);
 */
import type { NewTransfer, NewUser } from "../src/db/schema/index.js";
import { createRandom, type Random } from "./random.js";

export const DEFAULT_SEED = 20_260_101;
export const DEFAULT_USERS = 1_000;
/**
 * The demo data's transfer count. Its ids and timestamps follow from the seed and the counts,
 * so changing a default changes every id the demo data has had so far.
 */
export const DEFAULT_TRANSFERS = 2_838;

export interface LedgerOptions {
  /** Users to create (each gets one or two accounts). */
  users?: number;
  /** Transfers to create, exactly. */
  transfers?: number;
  /** PRNG seed: another seed gives other ids, names and amounts. */
  seed?: number;
}

export interface SeedUser extends NewUser {
  id: string;
}

export interface SeedAccount {
  id: string;
  userId: string;
  currency: string;
  /** The opening balance, before any transfer. */
  balance: number;
  createdAt: Date;
}

export interface Ledger {
  users: SeedUser[];
  accounts: SeedAccount[];
  transferCount: number;
  /** Where the transfers' random sequence starts; forked by each pass, never advanced. */
  transferStart: Random;
  /** Account indexes by currency, in creation order. */
  pools: Map<string, number[]>;
  /** When the first transfer happened (ms since the epoch); one transfer attempt per second. */
  transfersFrom: number;
}

const FIRST = [
  "Ada",
  "Alan",
  "Grace",
  "Edsger",
  "Barbara",
  "Donald",
  "Frances",
  "Ken",
  "Radia",
  "Tim",
];
const LAST = [
  "Lovelace",
  "Turing",
  "Hopper",
  "Dijkstra",
  "Liskov",
  "Knuth",
  "Allen",
  "Thompson",
  "Perlman",
  "Berners-Lee",
];
export const CURRENCIES = ["EUR", "USD", "GBP"] as const;

/** Users and accounts with their opening balances; the transfers are drawn later, in batches. */
export function createLedger(options: LedgerOptions = {}): Ledger {
  const random = createRandom(options.seed ?? DEFAULT_SEED);
  const userCount = options.users ?? DEFAULT_USERS;
  const epoch = Date.UTC(2026, 0, 1);
  const users: SeedUser[] = [];
  const accounts: SeedAccount[] = [];
  const pools = new Map<string, number[]>(CURRENCIES.map((currency) => [currency, []]));
  for (let i = 0; i < userCount; i++) {
    const createdAt = new Date(epoch + i * 60_000);
    const first = random.pick(FIRST);
    const last = random.pick(LAST);
    const user = {
      id: random.uuid(),
      email: `${first}.${last}.${String(i).padStart(5, "0")}@seed.example.com`.toLowerCase(),
      name: `${first} ${last}`,
      createdAt,
      updatedAt: createdAt,
    };
    users.push(user);
    const accountCount = random.int(1, 2);
    for (let a = 0; a < accountCount; a++) {
      // Draw order (id, currency, balance) is part of the data: it fixes every later value.
      const id = random.uuid();
      const currency = random.pick(CURRENCIES);
      pools.get(currency)?.push(accounts.length);
      accounts.push({
        id,
        userId: user.id,
        currency,
        balance: random.int(0, 500) * 100,
        createdAt,
      });
    }
  }
  return {
    users,
    accounts,
    transferCount: options.transfers ?? DEFAULT_TRANSFERS,
    transferStart: random,
    pools,
    transfersFrom: epoch + userCount * 60_000,
  };
}

/**
 * The ledger's transfers, `batchSize` at a time, moving money in `balances` (the accounts'
 * balances by index, opening balances on entry) as they go. An attempt the sender can't afford,
 * or from an account to itself, is skipped; its draws still happen, which keeps every later
 * transfer's values independent of how the earlier checks went.
 */
export function* transferBatches(
  ledger: Ledger,
  batchSize: number,
  balances: number[] = ledger.accounts.map((account) => account.balance),
): Generator<NewTransfer[]> {
  const random = ledger.transferStart.fork();
  // Far more attempts than any realistic ledger rejects; a bound so an impossible request (every
  // currency with a single account) ends with an error instead of looping.
  const maxAttempts = ledger.transferCount * 50 + 1_000;
  let batch: NewTransfer[] = [];
  let made = 0;
  for (let attempt = 0; made < ledger.transferCount; attempt++) {
    if (attempt === maxAttempts) {
      throw new RangeError(
        `only ${made} of ${ledger.transferCount} transfers are possible with ${ledger.users.length} users`,
      );
    }
    const currency = random.pick(CURRENCIES);
    const pool = ledger.pools.get(currency) ?? [];
    if (pool.length < 2) continue;
    const from = random.pick(pool);
    const to = random.pick(pool);
    const amount = random.int(1, 50) * 100;
    const id = random.uuid();
    const fromBalance = balances[from] ?? 0;
    if (from === to || fromBalance < amount) continue;
    balances[from] = fromBalance - amount;
    balances[to] = (balances[to] ?? 0) + amount;
    batch.push({
      id,
      fromAccountId: ledger.accounts[from]?.id ?? "",
      toAccountId: ledger.accounts[to]?.id ?? "",
      amount,
      currency,
      createdAt: new Date(ledger.transfersFrom + attempt * 1_000),
    });
    made++;
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

export interface Simulation {
  /** Each account's balance after every transfer, by index. */
  closingBalances: number[];
  /** The id of the last transfer, which only a complete load of this ledger contains. */
  lastTransferId: string | undefined;
}

/** Runs the transfers once without keeping them: the balances they leave, and the last id. */
export function simulateTransfers(ledger: Ledger): Simulation {
  const balances = ledger.accounts.map((account) => account.balance);
  let lastTransferId: string | undefined;
  for (const batch of transferBatches(ledger, 10_000, balances)) lastTransferId = batch.at(-1)?.id;
  return { closingBalances: balances, lastTransferId };
}
