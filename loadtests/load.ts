/**
 * Load test: the expected production traffic at a steady rate, as an open model (new
 * iterations arrive at RATE per second whether or not earlier ones finished, like real
 * clients), checked against per-endpoint latency budgets and the money invariant.
 *
 *   k6 run loadtests/load.ts
 *   RATE=100 DURATION=10m ACCOUNTS=200 k6 run loadtests/load.ts
 */
import { envNumber, envString } from "./lib/config.ts";
import { mixTest } from "./lib/scenario.ts";

const RATE = envNumber("RATE", 50, { min: 1 });

const test = mixTest({
  name: "load",
  load: { rate: RATE, duration: envString("DURATION", "5m") },
  vus: 20,
  maxVUs: RATE * 2,
  maxFailedRate: 0.01,
  minCheckRate: 0.99,
});

export const options = test.options;
export const setup = test.setup;
export default test.iteration;
export const teardown = test.teardown;
export const handleSummary = test.handleSummary;
