/**
 * The capacity report's arithmetic (loadtests/lib/capacity.ts): per-step rates from a k6
 * summary, the knee as the last step before the first that broke the SLO, and the plot.
 */
import { describe, expect, it } from "vitest";
import { capacityReport, capacitySvg, kneeLine } from "../../../loadtests/lib/capacity.ts";
import type { Stage } from "../../../loadtests/lib/stages.ts";
import type { SummaryData } from "../../../loadtests/lib/summary.ts";

const budget = { p95: 500, p99: 500, maxErrorRate: 0.01 };
const stages: Stage[] = [10, 20, 30, 40].map((target) => ({
  label: `s@${target}`,
  target,
  rampSeconds: 0,
  holdSeconds: 10,
  budget,
}));
const slo = { p99Ms: 500, maxErrorRate: 0.01 };
const system = { poolMax: 10, instances: 2, baseUrl: "http://x" };

/** A summary with, per stage, [requests, p99 ms, error rate]. */
function summary(perStage: [number, number, number][]): SummaryData {
  const metrics: SummaryData["metrics"] = {};
  perStage.forEach(([count, p99, rate], i) => {
    const label = stages[i]?.label;
    metrics[`http_req_duration{stage:${label}}`] = {
      type: "trend",
      contains: "time",
      values: { count, "p(99)": p99, "p(95)": p99 / 2, med: p99 / 4 },
    };
    metrics[`http_req_failed{stage:${label}}`] = {
      type: "rate",
      contains: "default",
      values: { rate },
    };
  });
  return {
    metrics,
    root_group: { name: "", groups: [], checks: [] } as never,
    state: { testRunDurationMs: 1 },
  };
}

describe("capacityReport", () => {
  it("finds the knee before the first step over the p99 or the error budget", () => {
    const report = capacityReport(
      summary([
        [120, 40, 0],
        [240, 90, 0],
        [300, 700, 0],
        [320, 90, 0.5],
      ]),
      stages,
      slo,
      system,
    );
    expect(report.steps.map((s) => s.withinSlo)).toEqual([true, true, false, false]);
    expect(report.knee).toMatchObject({ offeredIterationsPerSecond: 20, requestsPerSecond: 24 });
    expect(report.kneeBeyondRange).toBe(false);
    expect(kneeLine(report)).toContain("24 req/s sustained at 20 iterations/s");
    expect(capacitySvg(report)).toContain("knee: 24 req/s");
  });

  it("says when no step broke the SLO, and when the first one did", () => {
    const ok = capacityReport(
      summary([
        [100, 10, 0],
        [200, 10, 0],
        [300, 10, 0],
        [400, 10, 0],
      ]),
      stages,
      slo,
      system,
    );
    expect(ok).toMatchObject({ kneeBeyondRange: true, knee: { offeredIterationsPerSecond: 40 } });
    const broken = capacityReport(summary([[100, 900, 0]]), stages, slo, system);
    expect(broken.knee).toBeNull();
    expect(kneeLine(broken)).toContain("the first step already broke the SLO");
  });

  it("never counts a step without requests as within the SLO", () => {
    const report = capacityReport(summary([]), stages, slo, system);
    expect(report.steps.every((s) => !s.withinSlo)).toBe(true);
  });
});
