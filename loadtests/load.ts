/**
 * Load test: the expected production traffic at a steady rate, as an open model (new
 * iterations arrive at RATE per second whether or not earlier ones finished, like real
 * clients), checked against per-endpoint latency budgets and the money invariant.
 *
 *   k6 run loadtests/load.ts
 *   RATE=100 DURATION=10m ACCOUNTS=200 k6 run loadtests/load.ts
 */
import type { Options } from "k6/options";
import { config, envNumber, envString } from "./lib/config.ts";
import type { Fixture } from "./lib/fixture.ts";
import { createFixture, verifyMoneyInvariant } from "./lib/fixture.ts";
import { MIX_ENDPOINTS, runMix } from "./lib/mix.ts";
import { SUMMARY_TREND_STATS, summaryHandler } from "./lib/summary.ts";
import { baseThresholds, latencyThresholds } from "./lib/thresholds.ts";

const RATE = envNumber("RATE", 50, { min: 1 });
const VUS = envNumber("VUS", 20, { min: 1 });

export const options: Options = {
  scenarios: {
    load: {
      executor: "constant-arrival-rate",
      rate: RATE,
      timeUnit: "1s",
      duration: envString("DURATION", "5m"),
      preAllocatedVUs: VUS,
      // Room for latency to grow; running out shows up as dropped iterations in the summary.
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

export const handleSummary = summaryHandler("load");
