/**
 * End-of-test summary. Exporting handleSummary replaces k6's own text summary, and the
 * `textSummary` that would reproduce it is a remote import from jslib.k6.io, which these
 * scripts avoid so that they run offline. So this prints a compact summary of its own, and
 * writes k6's full summary data as JSON for later analysis.
 */
import { config } from "./config.ts";

/**
 * The parts of k6's summary data used here; the full shape is documented at
 * https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/
 */
export interface SummaryData {
  metrics: Record<string, MetricSummary>;
  root_group: GroupSummary;
  state: { testRunDurationMs: number };
}

export interface MetricSummary {
  type: "counter" | "gauge" | "rate" | "trend";
  contains: "default" | "time" | "data";
  /** Trend keys follow `summaryTrendStats`; rates have rate/passes/fails; counters count/rate. */
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

interface GroupSummary {
  groups: GroupSummary[];
  checks: { name: string; path: string; passes: number; fails: number }[];
}

/** Extra lines a script adds to the text summary, e.g. the stress test's per-stage table. */
export type SummarySection = (data: SummaryData) => string[];

/** The trend statistics the summary (text and JSON) reports. */
export const SUMMARY_TREND_STATS = ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)", "count"];

/**
 * Builds a script's handleSummary: the text summary on stdout and the summary data in
 * `$SUMMARY_DIR/<testName>-summary.json`.
 *
 * @example
 * export const handleSummary = summaryHandler("load");
 */
export function summaryHandler(testName: string, ...sections: SummarySection[]) {
  return (data: SummaryData): Record<string, string> => ({
    stdout: renderText(testName, data, sections),
    [`${config.summaryDir}/${testName}-summary.json`]: JSON.stringify(data, null, 2),
  });
}

function renderText(testName: string, data: SummaryData, sections: SummarySection[]): string {
  const lines = [
    "",
    `█ ${testName} · ${formatElapsed(data.state.testRunDurationMs)} · ${config.baseUrl}`,
    ...overview(data.metrics),
    ...endpointTable(data.metrics),
    ...sections.flatMap((section) => section(data)),
    ...thresholdList(data.metrics),
    ...failedChecks(data.root_group),
  ];
  return `${lines.join("\n")}\n\n`;
}

function overview(metrics: Record<string, MetricSummary>): string[] {
  const iterations = metrics.iterations?.values;
  const requests = metrics.http_reqs?.values;
  const failed = metrics.http_req_failed?.values;
  const checks = metrics.checks?.values;
  const dropped = metrics.dropped_iterations?.values.count ?? 0;
  const lines = [""];
  if (iterations) {
    lines.push(
      `  iterations       ${count(iterations.count)}  ${perSecond(iterations.rate)}` +
        (dropped > 0 ? `  (${count(dropped)} dropped: not enough VUs to keep the rate)` : ""),
    );
  }
  if (requests) {
    lines.push(`  http requests    ${count(requests.count)}  ${perSecond(requests.rate)}`);
  }
  if (failed) lines.push(`  failed requests  ${ratio(failed, "failed")}`);
  if (checks) lines.push(`  checks           ${ratio(checks, "succeeded")}`);
  lines.push(`  money invariant  ${moneyInvariant(metrics.money_invariant?.values)}`);
  return lines;
}

/** k6 passes a threshold on a metric without samples, so "never verified" is spelled out. */
function moneyInvariant(values: Record<string, number> | undefined): string {
  const checked = (values?.passes ?? 0) + (values?.fails ?? 0);
  if (values === undefined || checked === 0) return "not verified (teardown did not run the check)";
  return ratio(values, "held");
}

/** Per-endpoint latency, from the `http_req_duration{name:...}` sub-metrics of the thresholds. */
function endpointTable(metrics: Record<string, MetricSummary>): string[] {
  const rows = Object.keys(metrics)
    .filter((key) => key.startsWith("http_req_duration{name:"))
    .sort()
    .map((key) => {
      const values = metrics[key]?.values ?? {};
      return [
        key.slice("http_req_duration{name:".length, -1),
        count(values.count ?? 0),
        ...["med", "p(95)", "p(99)", "max"].map((stat) => formatMs(values[stat] ?? 0)),
      ];
    });
  if (rows.length === 0) return [];
  return ["", ...table([["endpoint", "reqs", "p50", "p95", "p99", "max"], ...rows])];
}

/** Counts the thresholds and lists the failed ones, with the value that failed them. */
function thresholdList(metrics: Record<string, MetricSummary>): string[] {
  let passed = 0;
  const failed: string[] = [];
  for (const key of Object.keys(metrics).sort()) {
    const metric = metrics[key];
    for (const [source, { ok }] of Object.entries(metric?.thresholds ?? {})) {
      if (ok) {
        passed++;
      } else {
        const observed = metric ? observedValue(metric, source) : "";
        failed.push(`  ✗ ${key}  ${source}${observed ? `  (${observed})` : ""}`);
      }
    }
  }
  if (passed + failed.length === 0) return [];
  return ["", `  thresholds       ${passed} passed, ${failed.length} failed`, ...failed];
}

function failedChecks(group: GroupSummary): string[] {
  const lines: string[] = [];
  const visit = (current: GroupSummary): void => {
    for (const check of current.checks) {
      if (check.fails > 0) {
        lines.push(`  ✗ ${check.name}  ${check.fails} of ${check.passes + check.fails} failed`);
      }
    }
    current.groups.forEach(visit);
  };
  visit(group);
  return lines.length > 0 ? ["", "  failed checks", ...lines] : [];
}

/** The statistic a threshold tests, e.g. "p(95)=212.40ms" for "p(95)<200". */
function observedValue(metric: MetricSummary, threshold: string): string {
  const stat = /^(avg|min|max|med|count|rate|value|p\([\d.]+\))/.exec(threshold.trim())?.[1];
  const value = stat === undefined ? undefined : metric.values[stat];
  if (stat === undefined || value === undefined) return "";
  if (metric.type === "rate") return `${stat}=${percent(value)}`;
  if (metric.contains === "time") return `${stat}=${formatMs(value)}`;
  return `${stat}=${count(value)}`;
}

/** Left-aligns the first column and right-aligns the others. */
export function table(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? "").length)),
  );
  return rows.map(
    (row) =>
      `  ${row
        .map((cell, column) =>
          column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
        )
        .join("  ")}`,
  );
}

export function formatMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)}µs`;
  if (ms < 1000) return `${ms.toFixed(2)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

export function percent(rate: number): string {
  return `${(rate * 100).toFixed(2)}%`;
}

function ratio(values: Record<string, number>, what: string): string {
  const passes = values.passes ?? 0;
  const total = passes + (values.fails ?? 0);
  return `${percent(values.rate ?? 0)}  ${count(passes)} of ${count(total)} ${what}`;
}

function count(value: number | undefined): string {
  return String(Math.round(value ?? 0));
}

function perSecond(rate: number | undefined): string {
  return `${(rate ?? 0).toFixed(1)}/s`;
}

function formatElapsed(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes}m${seconds % 60}s` : `${seconds}s`;
}
