/**
 * What `db:doctor` reports: one finding per check, each with a verdict, a one-line summary and
 * the details behind it; and the readable form of it all. Pure.
 *
 * @example
 * renderReport({ target: "postgres://db/app", server: "PostgreSQL 17.2", findings });
 * // ok    foreign keys          every foreign key (3) has a supporting index
 * // fail  duplicate indexes     1 set of identical indexes
 * //         orders: orders_customer_idx = orders_customer_idx1 (16 kB each)
 */

/** `skip`: the check can't run here (an extension missing, no permission); never a failure. */
export type Verdict = "ok" | "warn" | "fail" | "skip";

export interface Finding {
  /** Stable name, e.g. `foreign keys`: the key in --json output and in tests. */
  check: string;
  verdict: Verdict;
  summary: string;
  /** One line per item behind the verdict (an index, a session, a setting). */
  details: string[];
  /** Figures for scripts reading --json, e.g. `{ statements: 23 }` from top queries. */
  metrics?: Record<string, number>;
}

export interface DoctorReport {
  /** The database checked, password removed. */
  target: string;
  /** `PostgreSQL 17.2`. */
  server: string;
  findings: Finding[];
}

export const VERDICT_ORDER: readonly Verdict[] = ["ok", "skip", "warn", "fail"];

/** The worst of several verdicts (fail > warn > skip > ok). */
export function worst(verdicts: readonly Verdict[]): Verdict {
  return verdicts.reduce<Verdict>(
    (worstSoFar, verdict) =>
      VERDICT_ORDER.indexOf(verdict) > VERDICT_ORDER.indexOf(worstSoFar) ? verdict : worstSoFar,
    "ok",
  );
}

export function countVerdicts(findings: readonly Finding[]): Record<Verdict, number> {
  const counts: Record<Verdict, number> = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const finding of findings) counts[finding.verdict]++;
  return counts;
}

/** Longest check name, so summaries line up. */
const NAME_WIDTH = 22;

export function renderReport(report: DoctorReport): string {
  const lines = [`db:doctor on ${report.target} (${report.server})`, ""];
  for (const finding of report.findings) {
    lines.push(
      `${finding.verdict.padEnd(5)} ${finding.check.padEnd(NAME_WIDTH)} ${finding.summary}`.trimEnd(),
    );
    for (const detail of finding.details) lines.push(`        ${detail}`);
  }
  const counts = countVerdicts(report.findings);
  lines.push(
    "",
    `${counts.ok} ok, ${counts.warn} warn, ${counts.fail} fail` +
      (counts.skip > 0 ? `, ${counts.skip} skipped` : ""),
  );
  return lines.join("\n");
}

/** The `--json` output: the report plus the verdict counts. */
export function reportJson(report: DoctorReport) {
  return { ...report, counts: countVerdicts(report.findings) };
}

/** A `skip` finding for a check whose reads failed (permissions, an older server). */
export function skipped(check: string, error: unknown): Finding {
  const message = error instanceof Error ? error.message : String(error);
  return {
    check,
    verdict: "skip",
    summary: `could not check: ${message.split("\n")[0]}`,
    details: [],
  };
}
