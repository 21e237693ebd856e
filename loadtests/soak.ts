/**
 * Soak test: the load test's traffic at a moderate rate for a long time, to surface what only
 * time reveals: memory or connection leaks, table and index bloat, slowly growing latency.
 * Compare the summary with a short load run at the same RATE.
 *
 *   k6 run loadtests/soak.ts                      # 1 hour at 20 iterations/s
 *   DURATION=8h RATE=30 k6 run loadtests/soak.ts
 */
import { envNumber, envString } from "./lib/config.ts";
import { mixTest } from "./lib/scenario.ts";

const RATE = envNumber("RATE", 20, { min: 1 });

const test = mixTest({
  name: "soak",
  load: { rate: RATE, duration: envString("DURATION", "1h") },
  vus: 10,
  maxVUs: RATE * 2,
  maxFailedRate: 0.01,
  minCheckRate: 0.99,
});

export const options = test.options;
export const setup = test.setup;
export default test.iteration;
export const teardown = test.teardown;
export const handleSummary = test.handleSummary;
