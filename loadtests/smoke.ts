/**
 * Smoke test: one VU calls every route of the API contract once, the error cases included,
 * and checks the answers. It takes seconds; run it before any heavier script, and in CI, to
 * know the service and the scripts agree before measuring anything.
 *
 *   k6 run loadtests/smoke.ts
 *   BASE_URL=http://localhost:4000 k6 run loadtests/smoke.ts
 */
import { check, group } from "k6";
import type { Stats } from "./lib/api.ts";
import { ENDPOINTS, getDocs, getLive, getOpenApi, getReady, getStats } from "./lib/api.ts";
import { bodyOf, header, send } from "./lib/client.ts";
import type { Fixture } from "./lib/fixture.ts";
import { ledgerTest } from "./lib/scenario.ts";
import { checkAccounts, checkTransfers } from "./lib/smoke-ledger.ts";
import { checkBulkInsert, checkUsers } from "./lib/smoke-users.ts";
import { latencyThresholds } from "./lib/thresholds.ts";

const test = ledgerTest({
  name: "smoke",
  scenario: { executor: "shared-iterations", vus: 1, iterations: 1, maxDuration: "1m" },
  // Two users with an EUR and a USD account each: enough for every transfer case.
  fixture: { accounts: 4, initialBalance: 10_000 },
  // Every answer must be the expected one: no unexpected status, no failed check.
  maxFailedRate: 0,
  minCheckRate: 1,
  // One request per case against a cold server: only a sanity bound per endpoint.
  thresholds: latencyThresholds(Object.values(ENDPOINTS), () => ({ p95: 1000, p99: 1000 })),
});

export const options = test.options;
export const setup = test.setup;
export const teardown = test.teardown;
export const handleSummary = test.handleSummary;

export default function (fixture: Fixture): void {
  group("health and docs", healthAndDocs);
  const user = group("users", () => checkUsers(fixture));
  group("bulk insert", () => checkBulkInsert(fixture));
  if (user !== undefined) group("accounts", () => checkAccounts(user));
  group("transfers", () => checkTransfers(fixture));
  group("stats", stats);
}

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

/** "/users/{userId}/accounts" and "/users/{id}/accounts" both become "/users/{}/accounts". */
function routeShape(path: string): string {
  return path.replace(/\{[^}]+\}/g, "{}");
}
