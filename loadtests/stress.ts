/**
 * Stress test: raises the arrival rate step by step past what the service can take, and
 * reports per step where latency and errors give way (the "breaking point" line of the
 * summary). Thresholds never abort the run, so every step is measured; expect the run to exit
 * non-zero once a step breaks its budget, since finding that step is the point.
 *
 *   k6 run loadtests/stress.ts                                   # 8 steps up to 400/s
 *   MAX_RATE=1000 STEPS=10 STEP_DURATION=60 k6 run loadtests/stress.ts
 */
import { envNumber } from "./lib/config.ts";
import { mixTest } from "./lib/scenario.ts";
import type { Stage } from "./lib/stages.ts";

const MAX_RATE = envNumber("MAX_RATE", 400, { min: 1 });
const STEPS = envNumber("STEPS", 8, { min: 1 });
/** Seconds each step holds its rate, after a RAMP-second climb from the previous one. */
const STEP_DURATION = envNumber("STEP_DURATION", 30, { min: 1 });
const RAMP = envNumber("RAMP", 10, { min: 0 });
/** The same budget for every step: the first step that breaks it is the breaking point. */
const BUDGET = {
  p95: envNumber("P95_MS", 500, { min: 1 }),
  p99: envNumber("P99_MS", 1000, { min: 1 }),
  maxErrorRate: envNumber("MAX_ERROR_RATE", 0.01, { integer: false }),
};

const STAGES: Stage[] = Array.from({ length: STEPS }, (_, index) => {
  const target = Math.max(1, Math.round((MAX_RATE * (index + 1)) / STEPS));
  return {
    label: `step${String(index + 1).padStart(2, "0")}@${target}/s`,
    target,
    rampSeconds: RAMP,
    holdSeconds: STEP_DURATION,
    budget: BUDGET,
  };
});

const test = mixTest({
  name: "stress",
  load: { startRate: 0, stages: STAGES },
  vus: 50,
  // Past the breaking point latency grows and k6 needs ever more VUs to keep the rate;
  // when they run out, iterations are dropped (reported in the summary) instead.
  maxVUs: 500,
  maxFailedRate: BUDGET.maxErrorRate,
  minCheckRate: 0.99,
});

export const options = test.options;
export const setup = test.setup;
export default test.iteration;
export const teardown = test.teardown;
export const handleSummary = test.handleSummary;
