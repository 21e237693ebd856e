/**
 * Capacity report of a stepped run (loadtests/capacity.ts): per step the offered and achieved
 * request rate, latency and errors; the knee, the highest step that held the SLO; and a plot of
 * throughput and p99 against the offered load, as SVG.
 */
import type { Stage } from "./stages.ts";
import type { SummaryData } from "./summary.ts";

export interface Slo {
  p99Ms: number;
  maxErrorRate: number;
}

export interface CapacityStep {
  label: string;
  /** Iterations per second k6 started (each iteration is one to a few requests). */
  offeredIterationsPerSecond: number;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  errorRate: number;
  withinSlo: boolean;
}

export interface CapacityReport {
  slo: Slo;
  /** What the run was told about the system under test (POOL_MAX, INSTANCES). */
  system: { poolMax: number | null; instances: number; baseUrl: string };
  steps: CapacityStep[];
  /** The last step before the first one that broke the SLO; null when the first step broke it. */
  knee: CapacityStep | null;
  /** True when no step broke the SLO: the knee lies beyond the highest step. */
  kneeBeyondRange: boolean;
}

export function capacityReport(
  data: SummaryData,
  stages: readonly Stage[],
  slo: Slo,
  system: CapacityReport["system"],
): CapacityReport {
  const steps = stages.map((stage): CapacityStep => {
    const duration = data.metrics[`http_req_duration{stage:${stage.label}}`]?.values ?? {};
    const failed = data.metrics[`http_req_failed{stage:${stage.label}}`]?.values ?? {};
    const seconds = stage.rampSeconds + stage.holdSeconds;
    const p99Ms = duration["p(99)"] ?? 0;
    const errorRate = failed.rate ?? 0;
    return {
      label: stage.label,
      offeredIterationsPerSecond: stage.target,
      requestsPerSecond: round((duration.count ?? 0) / seconds),
      p50Ms: round(duration.med ?? 0),
      p95Ms: round(duration["p(95)"] ?? 0),
      p99Ms: round(p99Ms),
      errorRate,
      withinSlo: (duration.count ?? 0) > 0 && p99Ms <= slo.p99Ms && errorRate <= slo.maxErrorRate,
    };
  });
  const firstBroken = steps.findIndex((step) => !step.withinSlo);
  const knee =
    firstBroken === -1
      ? (steps[steps.length - 1] ?? null)
      : firstBroken === 0
        ? null
        : steps[firstBroken - 1];
  return { slo, system, steps, knee: knee ?? null, kneeBeyondRange: firstBroken === -1 };
}

const round = (value: number) => Math.round(value * 10) / 10;

/** The knee as one line of text. */
export function kneeLine(report: CapacityReport): string {
  const { knee, slo } = report;
  const rule = `p99 ≤ ${slo.p99Ms} ms, errors ≤ ${(slo.maxErrorRate * 100).toFixed(1)} %`;
  if (!knee) return `  knee: none, the first step already broke the SLO (${rule})`;
  const where = report.kneeBeyondRange ? " (no step broke it: the knee is higher)" : "";
  return (
    `  knee: ${knee.requestsPerSecond} req/s sustained at ${knee.offeredIterationsPerSecond} ` +
    `iterations/s, p99 ${knee.p99Ms} ms, within ${rule}${where}`
  );
}

/** Throughput (left axis) and p99 (right axis) against offered load, with the SLO and knee. */
export function capacitySvg(report: CapacityReport): string {
  const width = 720;
  const height = 400;
  const pad = { left: 64, right: 64, top: 40, bottom: 56 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const steps = report.steps;
  const maxX = Math.max(1, ...steps.map((s) => s.offeredIterationsPerSecond));
  const maxRps = niceCeil(Math.max(1, ...steps.map((s) => s.requestsPerSecond)));
  const maxMs = niceCeil(Math.max(report.slo.p99Ms * 1.2, ...steps.map((s) => s.p99Ms)));
  const x = (v: number) => pad.left + (v / maxX) * plotW;
  const yRps = (v: number) => pad.top + plotH - (v / maxRps) * plotH;
  const yMs = (v: number) => pad.top + plotH - (Math.min(v, maxMs) / maxMs) * plotH;
  const line = (points: [number, number][]) =>
    points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ");
  const throughput = line(
    steps.map((s) => [x(s.offeredIterationsPerSecond), yRps(s.requestsPerSecond)]),
  );
  const p99 = line(steps.map((s) => [x(s.offeredIterationsPerSecond), yMs(s.p99Ms)]));
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    "<title>Capacity: achieved requests per second and p99 latency against offered load</title>",
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">Capacity: throughput and p99 against offered load</text>`,
    ...ticks.map((t) => {
      const y = pad.top + plotH - t * plotH;
      return (
        `<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>` +
        `<text x="${pad.left - 6}" y="${y + 4}" text-anchor="end" fill="#1f77b4">${Math.round(t * maxRps)}</text>` +
        `<text x="${pad.left + plotW + 6}" y="${y + 4}" fill="#d62728">${Math.round(t * maxMs)}</text>`
      );
    }),
    ...steps.map(
      (s) =>
        `<text x="${x(s.offeredIterationsPerSecond)}" y="${pad.top + plotH + 16}" text-anchor="middle">${s.offeredIterationsPerSecond}</text>`,
    ),
    `<text x="${pad.left + plotW / 2}" y="${height - 12}" text-anchor="middle">offered load (iterations/s)</text>`,
    `<text transform="translate(16 ${pad.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#1f77b4">achieved req/s</text>`,
    `<text transform="translate(${width - 12} ${pad.top + plotH / 2}) rotate(90)" text-anchor="middle" fill="#d62728">p99 (ms)</text>`,
    `<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${yMs(report.slo.p99Ms)}" y2="${yMs(report.slo.p99Ms)}" stroke="#d62728" stroke-dasharray="6 4"/>`,
    `<text x="${pad.left + 4}" y="${yMs(report.slo.p99Ms) - 4}" fill="#d62728">SLO p99 ${report.slo.p99Ms} ms</text>`,
    `<polyline points="${throughput}" fill="none" stroke="#1f77b4" stroke-width="2"/>`,
    `<polyline points="${p99}" fill="none" stroke="#d62728" stroke-width="2"/>`,
    ...steps.map(
      (s) =>
        `<circle cx="${x(s.offeredIterationsPerSecond)}" cy="${yRps(s.requestsPerSecond)}" r="3" fill="#1f77b4"/>` +
        `<circle cx="${x(s.offeredIterationsPerSecond)}" cy="${yMs(s.p99Ms)}" r="3" fill="${s.withinSlo ? "#d62728" : "black"}"/>`,
    ),
  ];
  if (report.knee) {
    const kx = x(report.knee.offeredIterationsPerSecond);
    parts.push(
      `<line x1="${kx}" x2="${kx}" y1="${pad.top}" y2="${pad.top + plotH}" stroke="#2ca02c" stroke-dasharray="2 3"/>`,
      `<text x="${kx + 4}" y="${pad.top + 12}" fill="#2ca02c">knee: ${report.knee.requestsPerSecond} req/s</text>`,
    );
  }
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** 1, 2 or 5 times a power of ten, at or above `value`. */
function niceCeil(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  const nice = [1, 2, 5, 10].find((m) => m * power >= value) ?? 10;
  return nice * power;
}
