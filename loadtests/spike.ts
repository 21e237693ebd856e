/**
 * Spike test: a steady baseline, a sudden surge to many times that rate, then the baseline
 * again. The per-phase table answers two questions: does the service degrade gracefully during
 * the surge (slower, some 503s, no 500s, no lost money), and does it recover afterwards
 * (recovery latency back within the baseline budget).
 *
 *   k6 run loadtests/spike.ts                          # 20/s, spike to 200/s for 1 minute
 *   RATE=50 SPIKE_RATE=1000 SPIKE_DURATION=30 k6 run loadtests/spike.ts
 */
import { envNumber } from "./lib/config.ts";
import { mixTest } from "./lib/scenario.ts";
import type { Stage } from "./lib/stages.ts";

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

const test = mixTest({
  name: "spike",
  load: { startRate: RATE, stages: STAGES },
  vus: 50,
  maxVUs: 500,
  // The whole run may fail as many requests as the surge; each phase has its own budget.
  maxFailedRate: SURGE.maxErrorRate,
  minCheckRate: 0.95,
});

export const options = test.options;
export const setup = test.setup;
export default test.iteration;
export const teardown = test.teardown;
export const handleSummary = test.handleSummary;
