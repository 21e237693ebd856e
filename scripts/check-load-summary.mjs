#!/usr/bin/env node
/**
 * Reads the k6 end-of-test summaries that handleSummary writes (loadtests/lib/summary.ts) and
 * fails unless each shows the money invariant verified and held, and no threshold failed.
 *
 * k6's exit code already covers a crossed threshold and a violated invariant. What it cannot
 * see is an invariant that was never verified: k6 passes a threshold whose metric has no
 * samples, so a run whose teardown did not get to the check would pass. Here no samples fail.
 *
 *   node scripts/check-load-summary.mjs loadtests/results/smoke-summary.json [...]
 *   node scripts/check-load-summary.mjs --invariant-only loadtests/results/capacity-summary.json
 *
 * `--invariant-only`: the money invariant alone, for runs that cross thresholds by design (the
 * capacity and stress scenarios measure where the SLO breaks).
 */
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const invariantOnly = args.includes("--invariant-only");
const files = args.filter((arg) => arg !== "--invariant-only");
if (files.length === 0) {
  process.stderr.write("usage: node scripts/check-load-summary.mjs SUMMARY.json [...]\n");
  process.exit(2);
}

let failed = 0;
for (const file of files) {
  const { problems, verdict } = check(file);
  if (problems.length === 0) {
    process.stdout.write(`${file}: ${verdict}\n`);
  } else {
    failed++;
    process.stdout.write(`${file}: FAILED\n${problems.map((p) => `  - ${p}\n`).join("")}`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;

function check(file) {
  let summary;
  try {
    summary = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    return { problems: [`cannot read the summary: ${error.message}`] };
  }
  const metrics = summary.metrics ?? {};
  const problems = [];

  const { passes = 0, fails = 0 } = metrics.money_invariant?.values ?? {};
  if (passes + fails === 0) {
    problems.push("money invariant never verified (no money_invariant samples)");
  } else if (fails > 0) {
    problems.push(`money invariant violated: ${fails} of ${passes + fails} conditions failed`);
  }

  let thresholds = 0;
  const judged = invariantOnly ? [] : Object.entries(metrics);
  for (const [metric, { thresholds: results = {} }] of judged) {
    for (const [source, { ok }] of Object.entries(results)) {
      thresholds++;
      if (!ok) problems.push(`threshold failed: ${metric} ${source}`);
    }
  }
  return {
    problems,
    verdict: invariantOnly
      ? `money invariant held (${passes} conditions); thresholds not checked`
      : `money invariant held (${passes} conditions), ${thresholds} thresholds passed`,
  };
}
