/**
 * Several instances: the load test's traffic through a round-robin balancer in front of two or
 * more server processes on one database (scripts/load-instances.sh starts them all), plus pairs
 * that prove idempotency keys hold across instances, since the keys live in PostgreSQL, not in
 * a process:
 *
 *   - a transfer, then the same Idempotency-Key and body again until an instance other than
 *     the first one answers: every answer is 201 with the original transfer's id;
 *   - the same key with another body, again until another instance answers: 409
 *     `idempotency_key_reused`;
 *   - the transfer went into an account of its own, opened empty for the pair, so its balance
 *     proves one credit, hence one debit (debit and credit commit together): exactly the
 *     amount, and one transfer in its list. Teardown checks every such account again.
 *
 * The balancer marks each answer with `x-upstream: <index>`; the server does not say who it is.
 * Round robin alone does not put a pair's two requests on different instances, because other
 * virtual users' requests interleave; the replay is therefore repeated (a replay is safe: that
 * is the point) until another instance answers, at most PAIR_ATTEMPTS times.
 *
 *   npm run load:instances                  (scripts/load-instances.sh: servers, balancer, k6)
 *   BASE_URL=http://127.0.0.1:8080 RATE=20 DURATION=15s node scripts/run-k6.mjs instances
 */
import { check, fail } from "k6";
import exec from "k6/execution";
import type { Response } from "k6/http";
import { Rate } from "k6/metrics";
import type { Options } from "k6/options";
import type { Account, Page, Transfer, User } from "./lib/api.ts";
import {
  createAccount,
  createTransfer,
  ENDPOINTS,
  getAccount,
  isProblem,
  listAccountTransfers,
} from "./lib/api.ts";
import { bodyOf, header, send } from "./lib/client.ts";
import { envNumber, envString } from "./lib/config.ts";
import type { Fixture } from "./lib/fixture.ts";
import { CURRENCIES, iterationId, uniqueEmail, verifyMoneyInvariant } from "./lib/fixture.ts";
import { mixTest } from "./lib/scenario.ts";
import type { SummaryData } from "./lib/summary.ts";
import { summaryHandler } from "./lib/summary.ts";

const RATE = envNumber("RATE", 20, { min: 1 });
const DURATION = envString("DURATION", "15s");
/** Idempotency pairs started per second, beside the mix. */
const PAIR_RATE = envNumber("PAIR_RATE", 2, { min: 1 });
/**
 * Requests of a pair (replays, conflicting bodies) sent before another instance answers. Even
 * if each answer came from a random one of two instances, 20 misses would take odds of 2^-20.
 */
const PAIR_ATTEMPTS = envNumber("PAIR_ATTEMPTS", 20, { min: 1 });
/** Minor units each pair moves: small beside the funded balances, so rarely refused. */
const PAIR_AMOUNT = 100;

/** Per pair and case (`replay`, `conflict`): true when an instance other than the first answered. */
const acrossInstances = new Rate("idempotency_across_instances");
/** Per pair account at teardown: true when it holds nothing or exactly one pair's amount. */
const storedOnce = new Rate("idempotency_stored_once");

const test = mixTest({
  name: "instances",
  load: { rate: RATE, duration: DURATION },
  vus: 10,
  maxVUs: RATE * 2,
  maxFailedRate: 0.01,
  minCheckRate: 0.99,
});

export const options: Options = {
  ...test.options,
  scenarios: {
    ...test.options.scenarios,
    idempotency: {
      executor: "constant-arrival-rate",
      exec: "idempotencyPair",
      rate: PAIR_RATE,
      timeUnit: "1s",
      duration: DURATION,
      preAllocatedVUs: 2,
      maxVUs: PAIR_RATE * 5,
    },
  },
  thresholds: {
    ...test.options.thresholds,
    // Every answer of a pair must be right, not 99 % of them.
    "checks{scenario:idempotency}": ["rate==1"],
    "idempotency_across_instances{case:replay}": ["rate==1"],
    "idempotency_across_instances{case:conflict}": ["rate==1"],
    idempotency_stored_once: ["rate==1"],
  },
};

interface InstancesFixture extends Fixture {
  /** Owner of the empty accounts the pairs pay into, one account per pair. */
  pairUserId: string;
}

export function setup(): InstancesFixture {
  const fixture = test.setup();
  const response = send("POST", "/users", {
    name: `${ENDPOINTS.createUser} (setup)`,
    expect: [201],
    body: { email: uniqueEmail(`${fixture.runId}-pairs`), name: "Idempotency pairs" },
  });
  const user = bodyOf<User>(response);
  if (response.status !== 201 || user === undefined) {
    fail(`setup: POST /users answered ${response.status}: ${response.body}`);
  }
  return { ...fixture, pairUserId: user.id };
}

export default test.iteration;

/** One idempotency pair (the `idempotency` scenario). */
export function idempotencyPair(fixture: InstancesFixture): void {
  const currency = CURRENCIES[exec.scenario.iterationInTest % CURRENCIES.length] ?? "EUR";
  const funded = fixture.accountsByCurrency[currency] ?? [];
  const fromAccountId = funded[Math.floor(Math.random() * funded.length)] ?? "";
  const opened = createAccount({ userId: fixture.pairUserId, currency, initialBalance: 0 });
  const target = bodyOf<Account>(opened);
  if (!check(opened, { "pair: POST /accounts → 201": () => target?.id !== undefined })) return;
  if (target === undefined) return;

  const body = { fromAccountId, toAccountId: target.id, amount: PAIR_AMOUNT };
  const key = iterationId(fixture);
  const first = createTransfer(body, key, [201, 422]);
  // Balances drift under the mix; a refused transfer stores nothing, so there is no pair.
  if (isProblem(first, 422, "insufficient_funds")) return;
  const original = bodyOf<Transfer>(first);
  const firstInstance = upstreamOf(first);
  const ok = check(first, {
    "pair: POST /transfers → 201": (r) => r.status === 201 && original?.id !== undefined,
    "pair: answered through the balancer (x-upstream)": () => firstInstance !== undefined,
  });
  if (!ok || original === undefined) return;

  const replayed = untilAnotherInstance(
    firstInstance,
    () => createTransfer(body, key),
    "pair: replay on any instance → 201 with the original transfer",
    (r) => r.status === 201 && bodyOf<Transfer>(r)?.id === original.id,
  );
  acrossInstances.add(replayed, { case: "replay" });

  const conflicted = untilAnotherInstance(
    firstInstance,
    () => createTransfer({ ...body, amount: PAIR_AMOUNT + 1 }, key, [409]),
    "pair: same key, other body, on any instance → 409 idempotency_key_reused",
    (r) => isProblem(r, 409, "idempotency_key_reused"),
  );
  acrossInstances.add(conflicted, { case: "conflict" });

  const balance = bodyOf<Account>(getAccount(target.id))?.balance;
  const transfers = bodyOf<Page<Transfer>>(listAccountTransfers(target.id, {}))?.items;
  check(null, {
    "pair: credited once (balance = amount)": () => balance === PAIR_AMOUNT,
    "pair: one transfer stored, the original": () =>
      transfers?.length === 1 && transfers[0]?.id === original.id,
  });
}

/**
 * Sends until an instance other than `firstInstance` answers or PAIR_ATTEMPTS run out, checking
 * each answer with `isRight`; true when another instance answered (and every answer was right).
 */
function untilAnotherInstance(
  firstInstance: string | undefined,
  sendOnce: () => Response,
  checkName: string,
  isRight: (response: Response) => boolean,
): boolean {
  for (let attempt = 0; attempt < PAIR_ATTEMPTS; attempt++) {
    const response = sendOnce();
    if (!check(response, { [checkName]: isRight })) return false;
    const instance = upstreamOf(response);
    if (instance !== undefined && instance !== firstInstance) return true;
  }
  return false;
}

/** The balancer's index of the instance that answered; undefined without a balancer. */
function upstreamOf(response: Response): string | undefined {
  return header(response, "x-upstream");
}

/**
 * The money invariant, then every pair account again: empty (the pair stopped before its
 * transfer) or holding exactly one pair's amount. A replay or conflicting body processed as a
 * new transfer shows up here as twice the amount, or more. No pair account holding money means
 * no pair got through, and the run proved nothing about idempotency: that fails too.
 */
export function teardown(fixture: InstancesFixture): void {
  verifyMoneyInvariant(fixture);
  const response = send("GET", `/users/${encodeURIComponent(fixture.pairUserId)}/accounts`, {
    name: `${ENDPOINTS.listUserAccounts} (teardown)`,
    expect: [200],
  });
  const accounts = bodyOf<{ items: Account[] }>(response)?.items;
  if (response.status !== 200 || accounts === undefined) {
    fail(`teardown: GET /users/{id}/accounts answered ${response.status}: ${response.body}`);
  }
  const wrong = accounts.filter((a) => a.balance !== 0 && a.balance !== PAIR_AMOUNT);
  const paid = accounts.filter((a) => a.balance === PAIR_AMOUNT).length;
  for (const account of accounts) storedOnce.add(!wrong.includes(account));
  console.log(
    `idempotency: ${paid} of ${accounts.length} pair accounts credited once, ${wrong.length} wrong`,
  );
  if (wrong.length > 0) {
    const list = wrong.map((a) => `${a.id}: ${a.balance}`).join("\n  ");
    fail(`idempotency violated, pair accounts credited more than once:\n  ${list}`);
  }
  if (paid === 0) fail("idempotency never verified: no pair account was credited");
}

export const handleSummary = summaryHandler("instances", pairReport);

/** Summary lines: how many pairs, and how many reached another instance per case. */
function pairReport(data: SummaryData): string[] {
  const line = (label: string, metric: string) => {
    const values = data.metrics[metric]?.values ?? {};
    const total = (values.passes ?? 0) + (values.fails ?? 0);
    return `  ${label.padEnd(27)}${values.passes ?? 0} of ${total} on another instance`;
  };
  const stored = data.metrics.idempotency_stored_once?.values ?? {};
  return [
    "",
    line("idempotent replays", "idempotency_across_instances{case:replay}"),
    line("reused key, other body", "idempotency_across_instances{case:conflict}"),
    `  pair accounts stored once  ${stored.passes ?? 0} of ${(stored.passes ?? 0) + (stored.fails ?? 0)}`,
  ];
}
