/**
 * Soak test: the load test's traffic at a moderate rate for a long time, to surface what only
 * time reveals: memory or connection leaks, table and index bloat, slowly growing latency.
 * Compare the summary with a short load run at the same RATE.
 *
 *   k6 run loadtests/soak.ts                      # 1 hour at 20 iterations/s
 *   DURATION=8h RATE=30 k6 run loadtests/soak.ts
 */
import type { Options } from "k6/options";
import { config, envNumber, envString } from "./lib/config.ts";
import type { Fixture } from "./lib/fixture.ts";
import { createFixture, verifyMoneyInvariant } from "./lib/fixture.ts";
import { MIX_ENDPOINTS, runMix } from "./lib/mix.ts";
import { SUMMARY_TREND_STATS, summaryHandler } from "./lib/summary.ts";
import { baseThresholds, latencyThresholds } from "./lib/thresholds.ts";

const RATE = envNumber("RATE", 20, { min: 1 });
const VUS = envNumber("VUS", 10, { min: 1 });

export const options: Options = {
  scenarios: {
    soak: {
      executor: "constant-arrival-rate",
      rate: RATE,
      timeUnit: "1s",
      duration: envString("DURATION", "1h"),
      preAllocatedVUs: VUS,
      maxVUs: envNumber("MAX_VUS", Math.max(VUS, RATE * 2), { min: VUS }),
    },
  },
  thresholds: {
    ...baseThresholds({ maxFailedRate: 0.01, minCheckRate: 0.99 }),
    ...latencyThresholds(MIX_ENDPOINTS),
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup(): Fixture {
  return createFixture(config.accounts, config.initialBalance);
}

export default function (fixture: Fixture): void {
  runMix(fixture);
}

export function teardown(fixture: Fixture): void {
  verifyMoneyInvariant(fixture);
}

export const handleSummary = summaryHandler("soak");
