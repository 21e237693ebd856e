/**
 * Pass/fail criteria. A failed threshold makes `k6 run` exit non-zero (99), which is what fails
 * CI. Expected 4xx answers are not failures (see client.ts), so `http_req_failed` counts only
 * statuses the traffic did not ask for: 5xx, timeouts, and wrong 4xx.
 */
import type { Threshold } from "k6/options";
import type { EndpointName } from "./api.ts";
import type { MixEndpoint } from "./mix.ts";

/** Milliseconds. */
export interface LatencyBudget {
  p95: number;
  p99: number;
}

/**
 * Per-endpoint latency budgets of the traffic mix, for a warm server with PostgreSQL on the
 * same host as k6, at the load test's default rate. Loosen them for a remote or shared
 * environment rather than deleting them: a threshold that always passes tells you nothing. An
 * endpoint added to the mix does not compile until it has a budget here.
 */
export const LATENCY_BUDGETS: Record<MixEndpoint, LatencyBudget> = {
  "POST /users": { p95: 200, p99: 500 },
  "GET /users/{id}": { p95: 100, p99: 250 },
  "GET /users": { p95: 150, p99: 400 },
  "POST /users/bulk": { p95: 1000, p99: 2000 },
  "POST /accounts": { p95: 200, p99: 500 },
  "GET /accounts/{id}": { p95: 100, p99: 250 },
  "GET /users/{id}/accounts": { p95: 150, p99: 400 },
  "GET /accounts/{id}/transfers": { p95: 150, p99: 400 },
  // Transfers lock two rows and may retry on serialization failures inside the server.
  "POST /transfers": { p95: 300, p99: 750 },
};

/**
 * p95/p99 thresholds on `http_req_duration{name:<endpoint>}` for each endpoint. Declaring them
 * is also what makes k6 report those per-endpoint sub-metrics in the summary.
 *
 * @example
 * latencyThresholds(MIX_ENDPOINTS, (endpoint) => LATENCY_BUDGETS[endpoint]);
 */
export function latencyThresholds<Endpoint extends EndpointName>(
  endpoints: readonly Endpoint[],
  budgetOf: (endpoint: Endpoint) => LatencyBudget,
): Record<string, Threshold[]> {
  const thresholds: Record<string, Threshold[]> = {};
  for (const endpoint of endpoints) {
    const { p95, p99 } = budgetOf(endpoint);
    thresholds[`http_req_duration{name:${endpoint}}`] = [`p(95)<${p95}`, `p(99)<${p99}`];
  }
  return thresholds;
}

/**
 * Thresholds every script has: unexpected statuses, failed checks, and the money invariant
 * that teardown verifies (`money_invariant` is the share of its conditions that held).
 */
export function baseThresholds({
  maxFailedRate,
  minCheckRate,
}: {
  maxFailedRate: number;
  minCheckRate: number;
}): Record<string, Threshold[]> {
  return {
    http_req_failed: [`rate<=${maxFailedRate}`],
    checks: [`rate>=${minCheckRate}`],
    money_invariant: ["rate==1"],
  };
}
