/**
 * Arrival-rate profiles made of named stages (stress steps, spike phases), with every metric
 * tagged by the stage it was measured in. Thresholds per stage then show where latency and
 * errors give way, instead of one number averaged over the whole ramp.
 */
import exec from "k6/execution";
import type { RampingArrivalRateScenario, Threshold } from "k6/options";
import type { SummaryData, SummarySection } from "./summary.ts";
import { formatMs, percent, table } from "./summary.ts";

export interface Stage {
  /** Tag value for everything measured in this stage, e.g. "step03@150/s" (no commas). */
  label: string;
  /** Iterations per second to reach. */
  target: number;
  /** Seconds spent moving from the previous target to this one; 0 jumps to it. */
  rampSeconds: number;
  /** Seconds spent at the target. */
  holdSeconds: number;
  budget: { p95: number; p99: number; maxErrorRate: number };
}

/**
 * A `ramping-arrival-rate` scenario running through the stages, starting at `startRate`.
 *
 * @example
 * const vus = { startRate: 0, preAllocatedVUs: 50, maxVUs: 500 };
 * export const options = { scenarios: { stress: arrivalRateScenario(STAGES, vus) } };
 */
export function arrivalRateScenario(
  stages: readonly Stage[],
  vus: { startRate: number; preAllocatedVUs: number; maxVUs: number },
): RampingArrivalRateScenario {
  return {
    executor: "ramping-arrival-rate",
    timeUnit: "1s",
    ...vus,
    // k6 moves the rate linearly to each stage's target over its duration, so a stage is a
    // ramp (a 0s one is an instant jump) followed by a hold at the target.
    stages: stages.flatMap(({ target, rampSeconds, holdSeconds }) => [
      { duration: `${rampSeconds}s`, target },
      { duration: `${holdSeconds}s`, target },
    ]),
  };
}

/**
 * Tags every metric the VU emits from now on with the current stage. Call it first in each
 * iteration: an iteration that straddles a boundary counts towards the stage it started in.
 */
export function tagStage(stages: readonly Stage[]): void {
  const elapsedSeconds = (Date.now() - exec.scenario.startTime) / 1000;
  let end = 0;
  let current = stages[stages.length - 1];
  for (const stage of stages) {
    end += stage.rampSeconds + stage.holdSeconds;
    if (elapsedSeconds < end) {
      current = stage;
      break;
    }
  }
  if (current !== undefined) exec.vu.metrics.tags.stage = current.label;
}

/**
 * Latency and error-rate thresholds per stage. They never abort the run: the point is to see
 * every stage, including the ones past the breaking point.
 */
export function stageThresholds(stages: readonly Stage[]): Record<string, Threshold[]> {
  const thresholds: Record<string, Threshold[]> = {};
  for (const { label, budget } of stages) {
    thresholds[`http_req_duration{stage:${label}}`] = [
      { threshold: `p(95)<${budget.p95}`, abortOnFail: false },
      { threshold: `p(99)<${budget.p99}`, abortOnFail: false },
    ];
    thresholds[`http_req_failed{stage:${label}}`] = [
      { threshold: `rate<${budget.maxErrorRate}`, abortOnFail: false },
    ];
  }
  return thresholds;
}

/**
 * Summary section: one row per stage with its throughput, latency and errors, then the first
 * stage that broke a threshold.
 */
export function stageReport(stages: readonly Stage[]): SummarySection {
  return (data: SummaryData) => {
    const rows = [["stage", "target", "reqs", "req/s", "p95", "p99", "errors", "ok"]];
    let breakingPoint: string | undefined;
    for (const stage of stages) {
      const duration = data.metrics[`http_req_duration{stage:${stage.label}}`];
      const failed = data.metrics[`http_req_failed{stage:${stage.label}}`];
      const requests = duration?.values.count ?? 0;
      const broken = [duration, failed].flatMap((metric) =>
        Object.entries(metric?.thresholds ?? {})
          .filter(([, { ok }]) => !ok)
          .map(([source]) => source),
      );
      if (broken.length > 0 && breakingPoint === undefined) {
        breakingPoint = `${stage.label} (${broken.join(", ")})`;
      }
      rows.push([
        stage.label,
        `${stage.target}/s`,
        String(requests),
        (requests / (stage.rampSeconds + stage.holdSeconds)).toFixed(1),
        formatMs(duration?.values["p(95)"] ?? 0),
        formatMs(duration?.values["p(99)"] ?? 0),
        percent(failed?.values.rate ?? 0),
        broken.length > 0 ? "✗" : "✓",
      ]);
    }
    const peak = Math.max(...stages.map((stage) => stage.target));
    return [
      "",
      ...table(rows),
      "",
      breakingPoint === undefined
        ? `  no stage broke its thresholds (peak ${peak} iterations/s)`
        : `  breaking point: ${breakingPoint}`,
    ];
  };
}
