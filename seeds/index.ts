/**
 * Deterministic demo data: about 1,000 users, one or two accounts each, and a few thousand
 * transfers whose effects are already reflected in the balances. Loaded set-based in one
 * transaction with `bulkInsert` (COPY through a staging table at this size, on both drivers),
 * and idempotent: fixed ids plus ON CONFLICT DO NOTHING, so a second run inserts nothing and
 * fails on nothing.
 */
import { bulkInsert } from "../src/db/bulk.js";
import type { AppDatabase } from "../src/db/client.js";
import {
  accounts,
  type NewAccount,
  type NewTransfer,
  type NewUser,
  transfers,
  users,
} from "../src/db/schema/index.js";
import { withTransaction } from "../src/db/transaction.js";
import { createRandom } from "./random.js";

export interface SeedOptions {
  users?: number;
  transfers?: number;
  seed?: number;
}

export interface SeedResult {
  users: number;
  accounts: number;
  transfers: number;
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
const CURRENCIES = ["EUR", "USD", "GBP"] as const;

/** Builds the rows in memory; pure, so tests can check determinism without a database. */
export function buildSeedData(options: SeedOptions = {}) {
  const random = createRandom(options.seed ?? 20_260_101);
  const userCount = options.users ?? 1_000;
  const transferCount = options.transfers ?? 3_000;
  const epoch = Date.UTC(2026, 0, 1);

  const userRows: NewUser[] = [];
  const accountRows: (NewAccount & { id: string; balance: number; currency: string })[] = [];
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
    userRows.push(user);
    const accountCount = random.int(1, 2);
    for (let a = 0; a < accountCount; a++) {
      accountRows.push({
        id: random.uuid(),
        userId: user.id,
        currency: random.pick(CURRENCIES),
        balance: random.int(0, 500) * 100,
        createdAt,
      });
    }
  }

  // Simulate transfers in order so every one was affordable when it happened.
  const byCurrency = new Map<string, typeof accountRows>();
  for (const account of accountRows) {
    byCurrency.set(account.currency, [...(byCurrency.get(account.currency) ?? []), account]);
  }
  const transferRows: NewTransfer[] = [];
  for (let i = 0; i < transferCount; i++) {
    const pool = byCurrency.get(random.pick(CURRENCIES)) ?? [];
    if (pool.length < 2) continue;
    const from = random.pick(pool);
    const to = random.pick(pool);
    const amount = random.int(1, 50) * 100;
    const id = random.uuid();
    if (from.id === to.id || from.balance < amount) continue;
    from.balance -= amount;
    to.balance += amount;
    transferRows.push({
      id,
      fromAccountId: from.id,
      toAccountId: to.id,
      amount,
      currency: from.currency,
      createdAt: new Date(epoch + userCount * 60_000 + i * 1_000),
    });
  }
  return { users: userRows, accounts: accountRows, transfers: transferRows };
}

/** Inserts the demo data; returns how many rows of each kind were new. */
export async function seed(db: AppDatabase, options: SeedOptions = {}): Promise<SeedResult> {
  const data = buildSeedData(options);
  return withTransaction(db, async (tx) => {
    const u = await bulkInsert(tx, users, data.users, { onConflict: "do-nothing" });
    const a = await bulkInsert(tx, accounts, data.accounts, { onConflict: "do-nothing" });
    const t = await bulkInsert(tx, transfers, data.transfers, { onConflict: "do-nothing" });
    return { users: u.count, accounts: a.count, transfers: t.count };
  });
}
