/**
 * Smoke test: one VU calls every route of the API contract once, the error cases included,
 * and checks the answers. It takes seconds; run it before any heavier script, and in CI, to
 * know the service and the scripts agree before measuring anything.
 *
 *   k6 run loadtests/smoke.ts
 *   BASE_URL=http://localhost:4000 k6 run loadtests/smoke.ts
 */
import { check, group } from "k6";
import type { Response } from "k6/http";
import type { Options } from "k6/options";
import type { Account, Page, Problem, Stats, Transfer, User } from "./lib/api.ts";
import {
  createAccount,
  createTransfer,
  createUser,
  createUsersBulk,
  deleteUser,
  ENDPOINTS,
  getAccount,
  getDocs,
  getLive,
  getOpenApi,
  getReady,
  getStats,
  getTransfer,
  getUser,
  isProblem,
  listAccountTransfers,
  listUserAccounts,
  listUsers,
  updateUser,
} from "./lib/api.ts";
import { bodyOf, header, send } from "./lib/client.ts";
import type { Fixture } from "./lib/fixture.ts";
import { createFixture, uniqueEmail, verifyMoneyInvariant } from "./lib/fixture.ts";
import { SUMMARY_TREND_STATS, summaryHandler } from "./lib/summary.ts";
import { baseThresholds, latencyThresholds } from "./lib/thresholds.ts";

/** A well-formed id that no row has. */
const MISSING_ID = "00000000-0000-4000-8000-000000000000";
const INITIAL_BALANCE = 10_000;
/** Money values the contract rejects: negative, fractional, a string, beyond 2^53 - 1. */
const INVALID_AMOUNTS: [label: string, value: unknown][] = [
  ["negative", -1],
  ["fractional", 1.5],
  ["string", "100"],
  ["unsafe integer", 2 ** 53],
];

export const options: Options = {
  scenarios: {
    smoke: { executor: "shared-iterations", vus: 1, iterations: 1, maxDuration: "1m" },
  },
  thresholds: {
    // Every answer must be the expected one: no unexpected status, no failed check.
    ...baseThresholds({ maxFailedRate: 0, minCheckRate: 1 }),
    // One request per case against a cold server: only a sanity bound per endpoint.
    ...latencyThresholds(Object.values(ENDPOINTS), () => ({ p95: 1000, p99: 1000 })),
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup(): Fixture {
  // Two users with an EUR and a USD account each: enough for every transfer case.
  return createFixture(4, INITIAL_BALANCE);
}

export default function (fixture: Fixture): void {
  group("health and docs", healthAndDocs);
  const user = group("users", () => users(fixture));
  group("bulk insert", () => bulkInsert(fixture));
  if (user !== undefined) group("accounts", () => accounts(user));
  group("transfers", () => transfers(fixture));
  group("stats", stats);
}

export function teardown(fixture: Fixture): void {
  verifyMoneyInvariant(fixture);
}

export const handleSummary = summaryHandler("smoke");

function healthAndDocs(): void {
  check(getLive(), {
    "GET /health/live → 200 ok": (r) => bodyOf<{ status: string }>(r)?.status === "ok",
    "responses carry an x-request-id": (r) => (header(r, "X-Request-Id") ?? "") !== "",
  });
  const requestId = `smoke-${Date.now()}`;
  const echoed = send("GET", "/health/live", {
    name: ENDPOINTS.live,
    expect: [200],
    headers: { "X-Request-Id": requestId },
  });
  check(echoed, {
    "a sane x-request-id is echoed back": (r) => header(r, "X-Request-Id") === requestId,
  });

  check(getReady(), {
    "GET /health/ready → 200 with the database check": (r) => {
      const body = bodyOf<{ status: string; checks?: { database?: { status: string } } }>(r);
      return body?.status === "ok" && body.checks?.database?.status === "ok";
    },
  });

  const openApi = bodyOf<{ openapi?: string; paths?: Record<string, unknown> }>(getOpenApi());
  // Parameter names are the document's choice ({id} or {userId}), so compare the shapes only.
  const documented = Object.keys(openApi?.paths ?? {}).map(routeShape);
  check(openApi, {
    "GET /openapi.json → an OpenAPI 3.1 document": (doc) =>
      doc?.openapi?.startsWith("3.1") === true,
    // The document and the page rendering it need not describe themselves.
    "GET /openapi.json → documents every route": () =>
      Object.values(ENDPOINTS)
        .filter((endpoint) => endpoint !== ENDPOINTS.openApi && endpoint !== ENDPOINTS.docs)
        .every((endpoint) => documented.includes(routeShape(endpoint.split(" ")[1] ?? ""))),
  });
  check(getDocs(), {
    "GET /docs → 200 HTML page": (r) => (header(r, "Content-Type") ?? "").startsWith("text/html"),
  });
}

/** Creates the user the account cases use; undefined if that already failed. */
function users(fixture: Fixture): User | undefined {
  const email = uniqueEmail(`${fixture.runId}-smoke`);
  const created = createUser({ email: `  ${email}  `, name: "Smoke Test" });
  const user = bodyOf<User>(created);
  check(created, {
    "POST /users → 201 with the user": (r) =>
      r.status === 201 && user?.name === "Smoke Test" && typeof user.createdAt === "string",
    "POST /users → email trimmed": () => user?.email.toLowerCase() === email,
    "POST /users → Location of the user": (r) =>
      user !== undefined && (header(r, "Location") ?? "").endsWith(`/users/${user.id}`),
  });
  if (user === undefined || created.status !== 201) return undefined;

  expectProblem(
    createUser({ email: email.toUpperCase(), name: "Twin" }, [409]),
    409,
    "unique_violation",
    "POST /users same email in other case → 409 unique_violation",
  );
  const invalid = createUser({ email: "not-an-email", name: "" }, [400]);
  check(invalid, {
    "POST /users invalid → 400 validation_failed with errors": (r) =>
      isProblem(r, 400, "validation_failed") && (bodyOf<Problem>(r)?.errors?.length ?? 0) > 0,
  });
  expectProblem(
    createUser(
      { email: uniqueEmail(`${fixture.runId}-smoke-extra`), name: "x", role: "admin" },
      [400],
    ),
    400,
    "validation_failed",
    "POST /users unknown field → 400",
  );
  expectProblem(
    createUser(JSON.stringify({ email, name: "x".repeat(1_100_000) }), [413]),
    413,
    "payload_too_large",
    "POST /users over 1 MiB → 413 payload_too_large",
  );

  check(getUser(user.id), {
    "GET /users/{id} → 200 with the user": (r) => bodyOf<User>(r)?.id === user.id,
  });
  expectProblem(getUser(MISSING_ID, [404]), 404, "not_found", "GET /users/{id} unknown → 404");
  check(getUser("not-a-uuid", [400, 404]), {
    "GET /users/{id} malformed id → 400 or 404": (r) => isProblem(r, [400, 404]),
  });

  const first = bodyOf<Page<User>>(listUsers({ limit: 2 }));
  const second =
    typeof first?.nextCursor === "string"
      ? bodyOf<Page<User>>(listUsers({ limit: 2, cursor: first.nextCursor }))
      : undefined;
  check(first, {
    "GET /users?limit=2 → 2 users and a cursor": (page) =>
      page?.items.length === 2 && typeof page.nextCursor === "string",
    "GET /users?cursor → the next page, no repeats": (page) =>
      second !== undefined &&
      second.items.length > 0 &&
      second.items.every((next) => !page?.items.some((previous) => previous.id === next.id)),
  });
  for (const [label, query] of [
    ["limit=0", { limit: 0 }],
    ["limit=101", { limit: 101 }],
    ["malformed cursor", { cursor: "not-a-cursor" }],
  ] as const) {
    expectProblem(listUsers(query, [400]), 400, "validation_failed", `GET /users ${label} → 400`);
  }

  check(updateUser(user.id, { name: "Smoke Renamed" }), {
    "PATCH /users/{id} → 200 with the new name": (r) => bodyOf<User>(r)?.name === "Smoke Renamed",
  });
  expectProblem(
    updateUser(user.id, { name: "" }, [400]),
    400,
    "validation_failed",
    "PATCH /users/{id} invalid → 400",
  );
  expectProblem(
    updateUser(MISSING_ID, { name: "Nobody" }, [404]),
    404,
    "not_found",
    "PATCH /users/{id} unknown → 404",
  );

  const other = bodyOf<User>(
    createUser({ email: uniqueEmail(`${fixture.runId}-smoke-other`), name: "Other" }),
  );
  if (other !== undefined) {
    expectProblem(
      updateUser(other.id, { email: email.toUpperCase() }, [409]),
      409,
      "unique_violation",
      "PATCH /users/{id} taken email → 409 unique_violation",
    );
    check(deleteUser(other.id), { "DELETE /users/{id} → 204": (r) => r.status === 204 });
    expectProblem(deleteUser(other.id, [404]), 404, "not_found", "DELETE /users/{id} again → 404");
  }
  return user;
}

function bulkInsert(fixture: Fixture): void {
  const row = (label: string) => ({
    email: uniqueEmail(`${fixture.runId}-smoke-bulk-${label}`),
    name: `Bulk ${label}`,
  });
  const [a, b, c, d, e] = [row("a"), row("b"), row("c"), row("d"), row("e")] as const;

  check(createUsersBulk({ users: [a, b, c] }), {
    "POST /users/bulk → 201 inserted 3": (r) => bodyOf<{ inserted: number }>(r)?.inserted === 3,
  });
  check(createUsersBulk({ users: [d, { ...d, email: d.email.toUpperCase() }] }, [409]), {
    "POST /users/bulk duplicate within → 409": (r) => isProblem(r, 409),
  });
  check(createUsersBulk({ users: [e, a] }, [409]), {
    "POST /users/bulk existing email → 409": (r) => isProblem(r, 409),
  });
  // All or nothing: d and e were in refused requests, so they must still be free.
  check(createUsersBulk({ users: [d, e] }), {
    "POST /users/bulk after refusals → 201: nothing was inserted by them": (r) =>
      bodyOf<{ inserted: number }>(r)?.inserted === 2,
  });
  check(createUsersBulk({ users: [row("f"), { email: "bad", name: "Bad" }] }, [400]), {
    "POST /users/bulk invalid row → 400 naming its index": (r) =>
      isProblem(r, 400, "validation_failed") &&
      (bodyOf<Problem>(r)?.errors ?? []).some((error) => String(error.path).includes("1")),
  });
  expectProblem(
    createUsersBulk({ users: [] }, [400]),
    400,
    "validation_failed",
    "POST /users/bulk empty → 400",
  );
}

function accounts(user: User): void {
  const created = createAccount({ userId: user.id, currency: "EUR" });
  const account = bodyOf<Account>(created);
  check(created, {
    "POST /accounts → 201 empty account of the user": () =>
      account?.balance === 0 && account.userId === user.id && account.currency === "EUR",
  });

  check(createAccount({ userId: MISSING_ID, currency: "EUR" }, [404, 422]), {
    "POST /accounts unknown user → 422 or 404": (r) =>
      isProblem(r, [422, 404], ["foreign_key_violation", "not_found"]),
  });
  expectProblem(
    createAccount({ userId: user.id, currency: "eur" }, [400]),
    400,
    "validation_failed",
    "POST /accounts lowercase currency → 400",
  );
  for (const [label, initialBalance] of INVALID_AMOUNTS) {
    expectProblem(
      createAccount({ userId: user.id, currency: "EUR", initialBalance }, [400]),
      400,
      "validation_failed",
      `POST /accounts ${label} initialBalance → 400`,
    );
  }

  if (account !== undefined) {
    check(getAccount(account.id), {
      "GET /accounts/{id} → 200 with the account": (r) => bodyOf<Account>(r)?.id === account.id,
    });
    check(listUserAccounts(user.id), {
      "GET /users/{id}/accounts → 200 with the account": (r) =>
        (bodyOf<{ items: Account[] }>(r)?.items ?? []).some((item) => item.id === account.id),
    });
  }
  expectProblem(
    getAccount(MISSING_ID, [404]),
    404,
    "not_found",
    "GET /accounts/{id} unknown → 404",
  );
  check(getAccount("not-a-uuid", [400, 404]), {
    "GET /accounts/{id} malformed id → 400 or 404": (r) => isProblem(r, [400, 404]),
  });
  expectProblem(
    deleteUser(user.id, [409]),
    409,
    "conflict",
    "DELETE /users/{id} with accounts → 409 conflict",
  );
}

function transfers(fixture: Fixture): void {
  const [a, b] = fixture.accountsByCurrency.EUR ?? [];
  const [usd] = fixture.accountsByCurrency.USD ?? [];
  if (a === undefined || b === undefined || usd === undefined) return;
  const key = (label: string) => `smoke-${fixture.runId}-${label}`;
  let balanceA = INITIAL_BALANCE;

  const firstBody = { fromAccountId: a, toAccountId: b, amount: 100 };
  const first = createTransfer(firstBody, key("first"));
  const transfer = bodyOf<Transfer>(first);
  check(first, {
    "POST /transfers → 201 with the transfer": () =>
      transfer?.amount === 100 && transfer.currency === "EUR" && transfer.fromAccountId === a,
  });
  balanceA -= 100;
  check(createTransfer(firstBody, key("first")), {
    "POST /transfers replayed → 201 with the same transfer": (r) =>
      r.status === 201 && bodyOf<Transfer>(r)?.id === transfer?.id,
  });
  expectProblem(
    createTransfer({ ...firstBody, amount: 101 }, key("first"), [409]),
    409,
    "idempotency_key_reused",
    "POST /transfers same key, other body → 409 idempotency_key_reused",
  );
  check(getAccount(b), {
    "POST /transfers credited once despite the replay": (r) =>
      bodyOf<Account>(r)?.balance === INITIAL_BALANCE + 100,
  });

  const back = createTransfer({ fromAccountId: b, toAccountId: a, amount: 50 }, key("back"));
  balanceA += 50;

  const tooMuch = { fromAccountId: a, toAccountId: b, amount: INITIAL_BALANCE * 10 };
  expectProblem(
    createTransfer(tooMuch, key("too-much"), [422]),
    422,
    "insufficient_funds",
    "POST /transfers beyond the balance → 422 insufficient_funds",
  );
  check(getAccount(a), {
    "POST /transfers refused → balance unchanged": (r) => bodyOf<Account>(r)?.balance === balanceA,
  });
  // A refused request stores nothing, so its key is free for a new request.
  const retried = createTransfer({ ...tooMuch, amount: 1 }, key("too-much"));
  check(retried, {
    "POST /transfers key of a refused request → processed afresh": (r) => r.status === 201,
  });
  balanceA -= 1;

  expectProblem(
    createTransfer({ fromAccountId: a, toAccountId: usd, amount: 1 }, key("mismatch"), [422]),
    422,
    "currency_mismatch",
    "POST /transfers EUR to USD → 422 currency_mismatch",
  );
  expectProblem(
    createTransfer({ fromAccountId: a, toAccountId: a, amount: 1 }, key("self"), [400]),
    400,
    "validation_failed",
    "POST /transfers to the same account → 400",
  );
  for (const [label, amount] of [["zero", 0] as [string, unknown], ...INVALID_AMOUNTS]) {
    expectProblem(
      createTransfer({ fromAccountId: a, toAccountId: b, amount }, key(`amount-${label}`), [400]),
      400,
      "validation_failed",
      `POST /transfers ${label} amount → 400`,
    );
  }
  check(
    createTransfer(
      { fromAccountId: MISSING_ID, toAccountId: b, amount: 1 },
      key("ghost"),
      [404, 422],
    ),
    { "POST /transfers unknown account → 404 or 422": (r) => isProblem(r, [404, 422]) },
  );
  expectProblem(
    createTransfer({ fromAccountId: a, toAccountId: b, amount: 1 }, "k".repeat(256), [400]),
    400,
    "validation_failed",
    "POST /transfers Idempotency-Key over 255 chars → 400",
  );

  if (transfer !== undefined) {
    check(getTransfer(transfer.id), {
      "GET /transfers/{id} → 200 with the transfer": (r) => bodyOf<Transfer>(r)?.id === transfer.id,
    });
  }
  expectProblem(
    getTransfer(MISSING_ID, [404]),
    404,
    "not_found",
    "GET /transfers/{id} unknown → 404",
  );

  // Transfers of account a, newest first: the retried one, then `back`, then `first`.
  const newest = bodyOf<Page<Transfer>>(listAccountTransfers(a, { limit: 1 }));
  const next =
    typeof newest?.nextCursor === "string"
      ? bodyOf<Page<Transfer>>(listAccountTransfers(a, { limit: 1, cursor: newest.nextCursor }))
      : undefined;
  check(newest, {
    "GET /accounts/{id}/transfers → newest first": (page) =>
      page?.items[0]?.id === bodyOf<Transfer>(retried)?.id,
    "GET /accounts/{id}/transfers?cursor → the next older one": () =>
      next?.items[0]?.id === bodyOf<Transfer>(back)?.id,
  });
  expectProblem(
    listAccountTransfers(a, { limit: 0 }, [400]),
    400,
    "validation_failed",
    "GET /accounts/{id}/transfers limit=0 → 400",
  );
}

function stats(): void {
  check(getStats(), {
    "GET /stats → counts and a total per currency": (r) => {
      const body = bodyOf<Stats>(r);
      const currencies = (body?.balances ?? []).map((balance) => balance.currency);
      return (
        body !== undefined &&
        body.users > 0 &&
        body.accounts > 0 &&
        body.transfers > 0 &&
        currencies.includes("EUR") &&
        currencies.includes("USD")
      );
    },
  });
}

function expectProblem(response: Response, status: number, code: string, name: string): void {
  check(response, { [name]: (r) => isProblem(r, status, code) });
}

/** "/users/{userId}/accounts" and "/users/{id}/accounts" both become "/users/{}/accounts". */
function routeShape(path: string): string {
  return path.replace(/\{[^}]+\}/g, "{}");
}
