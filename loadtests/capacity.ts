/**
 * Capacity: raises the arrival rate in flat steps until the SLO breaks, and reports the knee —
 * the highest sustained request rate within the SLO — for the system under test (its pool size
 * and instance count), as a table, as JSON (`$SUMMARY_DIR/capacity.json`) and as a plot of
 * throughput and p99 against the offered load (`$SUMMARY_DIR/capacity.svg`). Steps past the
 * knee are measured too, to show how the service degrades; thresholds never abort the run.
 *
 *   npm run load:capacity
 *   MAX_RATE=800 STEPS=8 STEP_DURATION=30 SLO_P99_MS=250 POOL_MAX=10 INSTANCES=2 npm run load:capacity
 *
 * POOL_MAX and INSTANCES only label the report: start the servers with the settings to measure.
 */
import { capacityReport, capacitySvg, kneeLine } from "./lib/capacity.ts";
import { config, envNumber } from "./lib/config.ts";
import { mixTest } from "./lib/scenario.ts";
import type { Stage } from "./lib/stages.ts";
import type { SummaryData } from "./lib/summary.ts";

const MAX_RATE = envNumber("MAX_RATE", 400, { min: 1 });
const STEPS = envNumber("STEPS", 8, { min: 1 });
/** Seconds each step holds its rate; steps are flat (no ramp) so each measures one rate. */
const STEP_DURATION = envNumber("STEP_DURATION", 20, { min: 1 });
const SLO = {
  p99Ms: envNumber("SLO_P99_MS", 500, { min: 1 }),
  maxErrorRate: envNumber("SLO_MAX_ERROR_RATE", 0.01, { integer: false }),
};
const SYSTEM = {
  poolMax: envNumber("POOL_MAX", 0, { min: 0 }) || null,
  instances: envNumber("INSTANCES", 1, { min: 1 }),
  baseUrl: config.baseUrl,
};

const STAGES: Stage[] = Array.from({ length: STEPS }, (_, index) => {
  const target = Math.max(1, Math.round((MAX_RATE * (index + 1)) / STEPS));
  return {
    label: `step${String(index + 1).padStart(2, "0")}@${target}/s`,
    target,
    rampSeconds: 0,
    holdSeconds: STEP_DURATION,
    budget: { p95: SLO.p99Ms, p99: SLO.p99Ms, maxErrorRate: SLO.maxErrorRate },
  };
});

const test = mixTest({
  name: "capacity",
  load: { startRate: STAGES[0]?.target ?? 1, stages: STAGES },
  vus: 50,
  maxVUs: 500,
  // The run itself passes unless money was lost; the SLO is what the report measures.
  maxFailedRate: 1,
  minCheckRate: 0,
});

export const options = test.options;
export const setup = test.setup;
export default test.iteration;
export const teardown = test.teardown;

export function handleSummary(data: SummaryData): Record<string, string> {
  const report = capacityReport(data, STAGES, SLO, SYSTEM);
  const files = test.handleSummary(data);
  return {
    ...files,
    stdout: `${files.stdout ?? ""}${kneeLine(report)}\n\n`,
    [`${config.summaryDir}/capacity.json`]: `${JSON.stringify(report, null, 2)}\n`,
    [`${config.summaryDir}/capacity.svg`]: capacitySvg(report),
  };
}
