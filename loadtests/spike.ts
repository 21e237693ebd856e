/**
 * Spike test: a steady baseline, a sudden surge to many times that rate, then the baseline
 * again. The per-phase table answers two questions: does the service degrade gracefully during
 * the surge (slower, some 503s, no 500s, no lost money), and does it recover afterwards
 * (recovery latency back within the baseline budget).
 *
 *   k6 run loadtests/spike.ts                          # 20/s, spike to 200/s for 1 minute
 *   RATE=50 SPIKE_RATE=1000 SPIKE_DURATION=30 k6 run loadtests/spike.ts
 */
import type { Options } from "k6/options";
import { config, envNumber } from "./lib/config.ts";
import type { Fixture } from "./lib/fixture.ts";
import { createFixture, verifyMoneyInvariant } from "./lib/fixture.ts";
import { runMix } from "./lib/mix.ts";
import type { Stage } from "./lib/stages.ts";
import { arrivalRateScenario, stageReport, stageThresholds, tagStage } from "./lib/stages.ts";
import { SUMMARY_TREND_STATS, summaryHandler } from "./lib/summary.ts";
import { baseThresholds } from "./lib/thresholds.ts";

const RATE = envNumber("RATE", 20, { min: 1 });
const SPIKE_RATE = envNumber("SPIKE_RATE", 200, { min: 1 });
/** Seconds the spike holds its rate. */
const SPIKE_DURATION = envNumber("SPIKE_DURATION", 60, { min: 1 });

const STEADY = { p95: 300, p99: 750, maxErrorRate: 0.01 };
/** During the surge the service may slow down and shed load, but must stay mostly up. */
const SURGE = { p95: 2000, p99: 5000, maxErrorRate: 0.05 };

const STAGES: Stage[] = [
  { label: "baseline", target: RATE, rampSeconds: 0, holdSeconds: 60, budget: STEADY },
  {
    label: "spike",
    target: SPIKE_RATE,
    rampSeconds: 10,
    holdSeconds: SPIKE_DURATION,
    budget: SURGE,
  },
  // The ramp down is part of recovery: the backlog of the spike drains here.
  { label: "recovery", target: RATE, rampSeconds: 10, holdSeconds: 120, budget: STEADY },
];

export const options: Options = {
  scenarios: {
    spike: arrivalRateScenario(STAGES, {
      startRate: RATE,
      preAllocatedVUs: envNumber("VUS", 50, { min: 1 }),
      maxVUs: envNumber("MAX_VUS", 500, { min: 1 }),
    }),
  },
  thresholds: {
    ...baseThresholds({ maxFailedRate: SURGE.maxErrorRate, minCheckRate: 0.95 }),
    ...stageThresholds(STAGES),
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup(): Fixture {
  return createFixture(config.accounts, config.initialBalance);
}

export default function (fixture: Fixture): void {
  tagStage(STAGES);
  runMix(fixture);
}

export function teardown(fixture: Fixture): void {
  verifyMoneyInvariant(fixture);
}

export const handleSummary = summaryHandler("spike", stageReport(STAGES));
