/**
 * Reading a configuration's results (vitest's JSON report, tsc's output) and presenting them as
 * the canary's table, in plain text and Markdown. No I/O, so test/unit/deps-canary.test.ts
 * covers it.
 */
import { isAbsolute, relative } from "node:path";
import { stripVTControlCharacters } from "node:util";

/** Counts and first failures from vitest's JSON reporter; file names relative to `root`. */
export function parseVitestReport(report, root = "") {
  const failures = [];
  for (const file of report.testResults ?? []) {
    const name = root && isAbsolute(file.name) ? relative(root, file.name) : file.name;
    const failed = (file.assertionResults ?? []).filter((test) => test.status === "failed");
    for (const test of failed) {
      failures.push({
        name: [name, ...(test.ancestorTitles ?? []), test.title].join(" > "),
        message: firstLine(test.failureMessages?.[0] ?? ""),
      });
    }
    // A file that fails to load or whose hooks throw has no failed test of its own.
    if (file.status === "failed" && failed.length === 0) {
      failures.push({ name, message: firstLine(file.message ?? "") });
    }
  }
  return {
    success: report.success === true,
    passed: report.numPassedTests ?? 0,
    failed: report.numFailedTests ?? 0,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
    total: report.numTotalTests ?? 0,
    failures,
  };
}

/** The `error TS...` lines of tsc's output. */
export function typeErrors(output) {
  return stripVTControlCharacters(output)
    .split("\n")
    .filter((line) => /\berror TS\d+:/.test(line))
    .map((line) => line.trim());
}

/** The line of a command's output that best says why it failed. */
export function failureLine(output) {
  const lines = stripVTControlCharacters(output)
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  // vitest frames an unhandled error in a "⎯⎯ Unhandled Error ⎯⎯" rule: the message is the
  // "Error: ..." line under it. npm prints its own as "npm error ...".
  return (
    lines.find((line) => /^([A-Z]\w*)?Error:/.test(line)) ??
    lines.find((line) => /^npm (error|ERR!)/.test(line)) ??
    lines.at(-1) ??
    ""
  );
}

const firstLine = (text) =>
  stripVTControlCharacters(text).trim().split("\n")[0]?.slice(0, 200) ?? "";

export function formatDuration(ms) {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
}

/** "pass", "fail" or "skipped": a row fails when its install, typecheck or tests failed. */
export function rowStatus(row) {
  if (row.install?.ok === false || row.typecheck?.ok === false || row.tests?.ok === false) {
    return "fail";
  }
  return row.tests?.ok ? "pass" : "skipped";
}

export const exitCode = (rows) => (rows.some((row) => rowStatus(row) === "fail") ? 1 : 0);

const HEADER = [
  "package",
  "current",
  "newest",
  "typecheck",
  "tests (passed/failed)",
  "time",
  "note",
];

const NOTE_WIDTH = 90;

function cells(row) {
  const none = "—";
  const { typecheck, tests } = row;
  const errors = typecheck?.errors.length ?? 0;
  const typecheckCell = !typecheck
    ? none
    : typecheck.ok
      ? "pass"
      : `fail${errors ? ` (${plural(errors, "error")})` : ""}`;
  const testsCell = !tests
    ? none
    : `${tests.ok ? "pass" : "FAIL"} ${tests.passed}/${tests.failed}${tests.skipped ? ` (${tests.skipped} skipped)` : ""}`;
  let note = row.skip ?? "";
  if (row.install?.ok === false) note = `install failed: ${row.install.message}`;
  else if (tests && !tests.ok && tests.message) note = tests.message;
  else if (row.newFailures) {
    const count = row.newFailures.length;
    note = count
      ? `${plural(count, "failure")} the lockfile has not`
      : "fails as the lockfile does";
  } else if (row.sameAs) note = `same configuration as ${row.sameAs}`;
  else if (row.kind === "together" && !row.skip)
    note = `${plural(row.upgrades.length, "package")} upgraded`;
  const time = row.durationMs === undefined ? "" : formatDuration(row.durationMs);
  // The whole message is listed under the table; a cell keeps the table readable.
  if (note.length > NOTE_WIDTH) note = `${note.slice(0, NOTE_WIDTH - 1)}…`;
  return [row.label, row.current ?? none, row.newest ?? none, typecheckCell, testsCell, time, note];
}

const plural = (count, noun) => `${count} ${noun}${count === 1 ? "" : "s"}`;

/** The result as an aligned plain-text table, one row per package and one for all together. */
export function formatTable(rows) {
  const table = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...table.map((line) => line[i]?.length ?? 0)));
  const render = (line) =>
    line
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [render(HEADER), rule, ...table.slice(1).map(render)].join("\n");
}

/**
 * Everything a row failed on, as `{ key, text }`: the key names the failure (file and test, or
 * tsc's error line) without the message, which can vary between runs of the same failure.
 */
function failures(row) {
  const out = [];
  if (row.install?.ok === false) out.push(`install: ${row.install.message}`);
  for (const error of row.typecheck?.errors ?? []) out.push(`typecheck: ${error}`);
  if (row.tests?.message) out.push(`tests: ${row.tests.message}`);
  const keyed = out.map((text) => ({ key: text, text }));
  for (const { name, message } of row.tests?.failures ?? []) {
    keyed.push({ key: `test: ${name}`, text: `test: ${name}${message ? ` — ${message}` : ""}` });
  }
  return keyed;
}

/**
 * With a baseline row (the lockfile as is), marks on every other failing row which of its
 * failures the baseline does not share (`newFailures`): failures that were already there are
 * not the upgrade's.
 */
export function compareWithBaseline(rows) {
  const baseline = rows.find((row) => row.kind === "baseline");
  if (!baseline?.install?.ok) return rows;
  const known = new Set(failures(baseline).map(({ key }) => key));
  for (const row of rows) {
    if (row === baseline || rowStatus(row) !== "fail" || row.install?.ok === false) continue;
    row.newFailures = failures(row)
      .map(({ key }) => key)
      .filter((key) => !known.has(key));
  }
  return rows;
}

/**
 * What failed, per row: the install error, the first type errors and the first failing tests (up
 * to `limit` of each); only the new ones when the row was compared with a baseline.
 */
export function failureDetails(rows, limit = 5) {
  const details = [];
  for (const row of rows.filter((r) => rowStatus(r) === "fail" && !r.sameAs)) {
    const shown = failures(row).filter(({ key }) => row.newFailures?.includes(key) ?? true);
    if (shown.length === 0) continue;
    const lines = [];
    for (const kind of ["install", "typecheck", "tests", "test"]) {
      const ofKind = shown.filter(({ key }) => key.startsWith(`${kind}:`));
      lines.push(...ofKind.slice(0, limit).map(({ text }) => text));
      if (ofKind.length > limit) lines.push(`${kind}: ... and ${ofKind.length - limit} more`);
    }
    details.push({ label: row.label, lines });
  }
  return details;
}

/** The result as Markdown: a status line, the table, then the first failures. */
export function formatMarkdown(report) {
  const escapeCell = (cell) => cell.replaceAll("|", "\\|");
  const line = (cellsOfRow) => `| ${cellsOfRow.map(escapeCell).join(" | ")} |`;
  const status = report.error ? "could not run" : exitCode(report.rows) ? "FAIL" : "pass";
  const out = [
    `**Dependency canary: ${status}** (${report.date.slice(0, 10)}, Node ${report.node}, npm ${report.npm})`,
    "",
  ];
  if (report.error) out.push(`The canary stopped: ${report.error}`, "");
  out.push(line(HEADER), line(HEADER.map(() => "---")), ...report.rows.map((r) => line(cells(r))));
  const details = failureDetails(report.rows);
  if (details.length > 0) out.push("", "First failures:", "");
  for (const { label, lines } of details) {
    // Messages quote code and HTML-like types (`Promise<void>`); keep them literal in a summary.
    const literal = (text) => text.replaceAll("`", "'").replaceAll("<", "&lt;");
    out.push(`- **${label}**`, ...lines.map((text) => `  - ${literal(text)}`));
  }
  return `${out.join("\n")}\n`;
}
