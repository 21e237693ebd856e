/**
 * The data a run works on and the money invariant it proves.
 *
 * setup() creates users with one funded account per currency, then records the per-currency
 * totals of GET /stats. During the run money only moves between those accounts, and every
 * account the traffic opens starts at 0, so when the run ends each total must be exactly what
 * it was: anything else means a transfer created or destroyed money. Run against a server no
 * one else is writing to, or their traffic shows up as a violation.
 */
import { fail } from "k6";
import exec from "k6/execution";
import type { Response } from "k6/http";
import { Rate } from "k6/metrics";
import type { Account, Stats, User } from "./api.ts";
import { ENDPOINTS } from "./api.ts";
import { bodyOf, request, send, sendBatch } from "./client.ts";

/** Every funded user gets one account in each currency, so transfers have same-currency pairs. */
export const CURRENCIES = ["EUR", "USD"] as const;

/**
 * One sample per condition teardown verifies (each currency's total, each funded account), true
 * when it held; thresholds require `rate==1`. A rate rather than a count of violations, so that
 * a run whose invariant was never verified is visible in the summary: no samples at all.
 */
const moneyInvariant = new Rate("money_invariant");

export interface Fixture {
  /** Makes this run's emails and idempotency keys unique against earlier runs. */
  runId: string;
  userIds: string[];
  accountIds: string[];
  /** Funded account ids per currency: the only accounts money moves between. */
  accountsByCurrency: Record<string, string[]>;
  initialBalance: number;
  /** Total balance per currency (GET /stats) once the fixture is funded. */
  totalsBefore: Record<string, number>;
}

/**
 * Creates at least `accounts` funded accounts (rounded up to one per currency for each user)
 * and records the totals. Fails the run if any of it cannot be created: nothing after would be
 * meaningful.
 */
export function createFixture(accounts: number, initialBalance: number): Fixture {
  const users = Math.ceil(accounts / CURRENCIES.length);
  const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;

  // Requests of setup() and teardown() get their own `name` so that they, sent in a burst
  // against a cold server, stay out of the per-endpoint latency thresholds of the run.
  const createdUsers = sendBatch(
    Array.from({ length: users }, (_, index) =>
      request("POST", "/users", {
        name: `${ENDPOINTS.createUser} (setup)`,
        expect: [201],
        body: { email: uniqueEmail(`${runId}-setup-${index}`), name: `Load test ${index}` },
      }),
    ),
  );
  const userIds = createdUsers.map((response) => created<User>(response, "POST /users").id);

  const accountRequests = userIds.flatMap((userId) =>
    CURRENCIES.map((currency) =>
      request("POST", "/accounts", {
        name: `${ENDPOINTS.createAccount} (setup)`,
        expect: [201],
        body: { userId, currency, initialBalance },
      }),
    ),
  );
  const funded = sendBatch(accountRequests).map((response) =>
    created<Account>(response, "POST /accounts"),
  );

  const accountsByCurrency: Record<string, string[]> = {};
  for (const currency of CURRENCIES) {
    accountsByCurrency[currency] = funded
      .filter((account) => account.currency === currency)
      .map((account) => account.id);
  }

  return {
    runId,
    userIds,
    accountIds: funded.map((account) => account.id),
    accountsByCurrency,
    initialBalance,
    totalsBefore: readTotals("setup"),
  };
}

/**
 * Teardown check: per-currency totals unchanged and no funded account below zero. Records each
 * condition in `money_invariant`, then fails teardown on a violation, which makes k6 exit
 * non-zero even when thresholds are disabled.
 */
export function verifyMoneyInvariant(fixture: Fixture): void {
  const violations: string[] = [];

  const totalsAfter = readTotals("teardown");
  const currencies = new Set([...Object.keys(fixture.totalsBefore), ...Object.keys(totalsAfter)]);
  for (const currency of currencies) {
    const before = fixture.totalsBefore[currency] ?? 0;
    const after = totalsAfter[currency] ?? 0;
    console.log(`money invariant: ${currency} total before ${before}, after ${after}`);
    moneyInvariant.add(after === before);
    if (after !== before) {
      violations.push(`${currency} total changed by ${after - before} (${before} -> ${after})`);
    }
  }

  const balances = sendBatch(
    fixture.accountIds.map((accountId) =>
      request("GET", `/accounts/${encodeURIComponent(accountId)}`, {
        name: `${ENDPOINTS.getAccount} (teardown)`,
        expect: [200],
      }),
    ),
  );
  balances.forEach((response, index) => {
    const account = bodyOf<Account>(response);
    if (response.status !== 200 || account === undefined) {
      violations.push(`GET /accounts/${fixture.accountIds[index]} answered ${response.status}`);
      moneyInvariant.add(false);
    } else {
      moneyInvariant.add(account.balance >= 0);
      if (account.balance < 0) {
        violations.push(`account ${account.id} has a negative balance: ${account.balance}`);
      }
    }
  });

  if (violations.length > 0) {
    fail(`money invariant violated:\n  ${violations.join("\n  ")}`);
  }
}

/**
 * The email for a unique `label`. example.com is reserved (RFC 2606): nothing is ever
 * delivered to these addresses.
 */
export function uniqueEmail(label: string): string {
  return `lt-${label}@example.com`;
}

/**
 * Unique to the current iteration across all runs, for the emails and idempotency keys a VU
 * makes: a key reused by a later run would be refused as `idempotency_key_reused`.
 */
export function iterationId(fixture: Fixture): string {
  return `${fixture.runId}-${exec.scenario.name}-${exec.scenario.iterationInTest}`;
}

function readTotals(phase: "setup" | "teardown"): Record<string, number> {
  const response = send("GET", "/stats", { name: `${ENDPOINTS.stats} (${phase})`, expect: [200] });
  const stats = bodyOf<Stats>(response);
  if (response.status !== 200 || stats === undefined) {
    fail(`${phase}: GET /stats answered ${response.status}: ${response.body}`);
  }
  const totals: Record<string, number> = {};
  for (const { currency, total } of stats.balances) totals[currency] = total;
  return totals;
}

function created<T>(response: Response, what: string): T {
  const entity = bodyOf<T>(response);
  if (response.status !== 201 || entity === undefined) {
    fail(`setup: ${what} answered ${response.status}: ${response.body}`);
  }
  return entity;
}
