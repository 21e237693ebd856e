/**
 * The traffic of the load, stress, spike and soak tests: each iteration is one user action,
 * drawn with the weights below (they add up to 100, so they read as percentages). Reads
 * dominate, as in most services; writes cover every path where the ledger can go wrong.
 */
import { check } from "k6";
import type { Response } from "k6/http";
import type { Account, Page, Transfer, User } from "./api.ts";
import {
  createAccount,
  createTransfer,
  createUser,
  createUsersBulk,
  ENDPOINTS,
  getAccount,
  getUser,
  isProblem,
  listAccountTransfers,
  listUserAccounts,
  listUsers,
} from "./api.ts";
import { bodyOf } from "./client.ts";
import { config } from "./config.ts";
import type { Fixture } from "./fixture.ts";
import { CURRENCIES, iterationId, uniqueEmail } from "./fixture.ts";

/** Largest amount of an ordinary transfer, in minor units. */
const MAX_TRANSFER_AMOUNT = 1_000;

interface TransferRequest {
  fromAccountId: string;
  toAccountId: string;
  amount: number;
}

const MIX: readonly (readonly [weight: number, action: (fixture: Fixture) => void])[] = [
  [25, readUser],
  [25, readAccount],
  [8, walkUsers],
  [5, walkAccountTransfers],
  [5, readUserAccounts],
  [20, transfer],
  [5, transferAndReplay],
  [2, overdraft],
  [4, signUp],
  [1, bulkSignUp],
];

const TOTAL_WEIGHT = MIX.reduce((sum, [weight]) => sum + weight, 0);

/** Runs one action of the mix, drawn at random by weight. */
export function runMix(fixture: Fixture): void {
  let roll = Math.random() * TOTAL_WEIGHT;
  for (const [weight, action] of MIX) {
    roll -= weight;
    if (roll < 0) {
      action(fixture);
      return;
    }
  }
}

/** The traffic's endpoints: each has a latency budget in thresholds.ts. */
export const MIX_ENDPOINTS = [
  ENDPOINTS.getUser,
  ENDPOINTS.getAccount,
  ENDPOINTS.listUsers,
  ENDPOINTS.listAccountTransfers,
  ENDPOINTS.listUserAccounts,
  ENDPOINTS.createTransfer,
  ENDPOINTS.createUser,
  ENDPOINTS.createAccount,
  ENDPOINTS.createUsersBulk,
] as const;

export type MixEndpoint = (typeof MIX_ENDPOINTS)[number];

function readUser(fixture: Fixture): void {
  const userId = pick(fixture.userIds);
  const response = getUser(userId);
  check(response, {
    "GET /users/{id} → 200 with the user": (r) => bodyOf<User>(r)?.id === userId,
  });
}

function readAccount(fixture: Fixture): void {
  const accountId = pick(fixture.accountIds);
  const response = getAccount(accountId);
  const account = bodyOf<Account>(response);
  check(response, {
    "GET /accounts/{id} → 200 with the account": () => account?.id === accountId,
    "GET /accounts/{id} → balance never negative": () =>
      account !== undefined && account.balance >= 0,
  });
}

function walkUsers(): void {
  walkPages("GET /users → 200 with a page", (cursor) =>
    listUsers({ limit: config.pageSize, cursor }),
  );
}

function walkAccountTransfers(fixture: Fixture): void {
  const accountId = pick(fixture.accountIds);
  walkPages("GET /accounts/{id}/transfers → 200 with a page", (cursor) =>
    listAccountTransfers(accountId, { limit: config.pageSize, cursor }),
  );
}

function readUserAccounts(fixture: Fixture): void {
  const response = listUserAccounts(pick(fixture.userIds));
  check(response, {
    "GET /users/{id}/accounts → 200 with the accounts": (r) =>
      (bodyOf<{ items: Account[] }>(r)?.items.length ?? 0) > 0,
  });
}

/**
 * A transfer between two funded accounts. Balances drift as the run goes on, so "not enough
 * money" is a correct answer here too, as long as it is the contract's 422.
 */
function transfer(fixture: Fixture): void {
  const response = createTransfer(ordinaryTransfer(fixture), iterationId(fixture), [201, 422]);
  check(response, {
    "POST /transfers → 201, or 422 insufficient_funds": (r) =>
      r.status === 201 || isProblem(r, 422, "insufficient_funds"),
  });
}

/**
 * A client retrying a transfer it already got an answer for: the replay must return the same
 * transfer and move no money (teardown's invariant catches a second debit).
 */
function transferAndReplay(fixture: Fixture): void {
  const body = ordinaryTransfer(fixture);
  const key = iterationId(fixture);
  const first = createTransfer(body, key, [201, 422]);
  // A refused transfer stores nothing, so a "replay" of it would be a fresh transfer.
  if (first.status !== 201) return;
  const replay = createTransfer(body, key);
  check(replay, {
    "POST /transfers replayed → 201 with the original transfer": (r) =>
      r.status === 201 && bodyOf<Transfer>(r)?.id === bodyOf<Transfer>(first)?.id,
  });
}

/** A transfer no balance can cover; it must be refused without side effects. */
function overdraft(fixture: Fixture): void {
  const { fromAccountId, toAccountId, accountsInCurrency } = pickPair(fixture);
  // Money only moves between the funded accounts, so none can ever hold more than all of them
  // together started with: one cent more is always insufficient.
  const amount = fixture.initialBalance * accountsInCurrency + 1;
  const response = createTransfer(
    { fromAccountId, toAccountId, amount },
    iterationId(fixture),
    [422],
  );
  check(response, {
    "POST /transfers beyond every balance → 422 insufficient_funds": (r) =>
      isProblem(r, 422, "insufficient_funds"),
  });
}

/** A new customer: a user, then an empty account (initialBalance 0 keeps totals unchanged). */
function signUp(fixture: Fixture): void {
  const label = iterationId(fixture);
  const userResponse = createUser({ email: uniqueEmail(label), name: `Sign-up ${label}` });
  const user = bodyOf<User>(userResponse);
  const ok = check(userResponse, {
    "POST /users → 201 with the user": (r) => r.status === 201 && user?.id !== undefined,
  });
  if (!ok || user === undefined) return;
  const accountResponse = createAccount({
    userId: user.id,
    currency: pick(CURRENCIES),
    initialBalance: 0,
  });
  check(accountResponse, {
    "POST /accounts → 201 with an empty account": (r) => bodyOf<Account>(r)?.balance === 0,
  });
}

/** An import of `BULK_SIZE` users in one all-or-nothing request. */
function bulkSignUp(fixture: Fixture): void {
  const label = iterationId(fixture);
  const users = Array.from({ length: config.bulkSize }, (_, index) => ({
    email: uniqueEmail(`${label}-${index}`),
    name: `Bulk ${label} #${index}`,
  }));
  const response = createUsersBulk({ users });
  check(response, {
    "POST /users/bulk → 201, all inserted": (r) =>
      bodyOf<{ inserted: number }>(r)?.inserted === config.bulkSize,
  });
}

/**
 * Follows `nextCursor` from the first page for up to MAX_PAGES pages, as a client paging
 * through a list does.
 */
function walkPages(checkName: string, fetchPage: (cursor: string | undefined) => Response): void {
  let cursor: string | undefined;
  for (let page = 0; page < config.maxPages; page++) {
    const response = fetchPage(cursor);
    const body = bodyOf<Page<unknown>>(response);
    if (!check(response, { [checkName]: () => Array.isArray(body?.items) })) return;
    cursor = body?.nextCursor ?? undefined;
    if (cursor === undefined) return;
  }
}

/** Two distinct funded accounts of one currency, and how many funded accounts it has. */
function pickPair(fixture: Fixture): {
  fromAccountId: string;
  toAccountId: string;
  accountsInCurrency: number;
} {
  const accounts = fixture.accountsByCurrency[pick(CURRENCIES)] ?? [];
  const [fromAccountId, toAccountId] = pickTwo(accounts);
  return { fromAccountId, toAccountId, accountsInCurrency: accounts.length };
}

function ordinaryTransfer(fixture: Fixture): TransferRequest {
  const { fromAccountId, toAccountId } = pickPair(fixture);
  return {
    fromAccountId,
    toAccountId,
    amount: 1 + Math.floor(Math.random() * MAX_TRANSFER_AMOUNT),
  };
}

function pick<T>(items: readonly T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error("pick() needs a non-empty list");
  return item;
}

function pickTwo<T>(items: readonly T[]): [T, T] {
  const first = Math.floor(Math.random() * items.length);
  // Any other index, uniformly: step forward 1 to length-1 places, wrapping around.
  const second = (first + 1 + Math.floor(Math.random() * (items.length - 1))) % items.length;
  const a = items[first];
  const b = items[second];
  if (a === undefined || b === undefined || first === second) {
    throw new Error("pickTwo() needs at least two items");
  }
  return [a, b];
}
