/**
 * The upgrade canary's pure parts (scripts/deps-canary/): its options, which configurations it
 * runs, how it reads vitest's and tsc's output, and the table it prints. The running part
 * (copy, npm, child processes) is exercised by `npm run deps:canary` itself.
 */
import { describe, expect, it } from "vitest";
import {
  CANARY_PACKAGES,
  compareVersions,
  type PackageVersions,
  parseArgs,
  planRuns,
  UsageError,
} from "../../scripts/deps-canary/plan.mjs";
import {
  type CanaryReport,
  compareWithBaseline,
  exitCode,
  failureDetails,
  failureLine,
  formatDuration,
  formatMarkdown,
  formatTable,
  parseVitestReport,
  type RowResult,
  rowStatus,
  typeErrors,
  type VitestJsonReport,
} from "../../scripts/deps-canary/report.mjs";

describe("parseArgs", () => {
  it("defaults to every canary package, individual runs included", () => {
    expect(parseArgs([])).toEqual({
      keep: false,
      skipIndividual: false,
      baseline: false,
      untracked: false,
      help: false,
    });
    expect(CANARY_PACKAGES).toContain("drizzle-orm");
  });

  it("reads values after a space or an equals sign, and de-duplicates --only", () => {
    const options = parseArgs([
      "--only",
      "hono, postgres,hono",
      "--markdown=canary.md",
      "--json",
      "out/canary.json",
      "--skip-individual",
      "--keep",
    ]);
    expect(options).toMatchObject({
      only: ["hono", "postgres"],
      markdown: "canary.md",
      json: "out/canary.json",
      skipIndividual: true,
      keep: true,
    });
  });

  it("rejects unknown options, missing values and values on switches", () => {
    expect(() => parseArgs(["--all"])).toThrow(UsageError);
    expect(() => parseArgs(["--only"])).toThrow("--only needs a value");
    expect(() => parseArgs(["--markdown", "--keep"])).toThrow("--markdown needs a value");
    expect(() => parseArgs(["--keep=yes"])).toThrow(UsageError);
  });
});

describe("compareVersions", () => {
  it("orders numerically, a release above its prereleases", () => {
    expect(compareVersions("0.45.10", "0.45.9")).toBe(1);
    expect(compareVersions("4.13.19", "4.13.19")).toBe(0);
    expect(compareVersions("1.0.0", "1.0.0-beta.2")).toBe(1);
    expect(compareVersions("1.0.0-beta.10", "1.0.0-beta.9")).toBe(1);
    expect(compareVersions("2.1.8", "3.0.0-rc.1")).toBe(-1);
  });
});

describe("planRuns", () => {
  const packages: PackageVersions[] = [
    { name: "hono", current: "4.13.19", newest: "4.13.19" },
    { name: "postgres", current: "3.4.9", newest: "3.5.0" },
    { name: "drizzle-orm", current: "0.45.4", newest: "0.46.0" },
    { name: "@electric-sql/pglite", current: undefined, newest: undefined },
  ];

  it("runs each package that is behind, then all of them together", () => {
    const rows = planRuns(packages);
    expect(rows.map((r) => [r.label, r.skip ?? r.upgrades.map((u) => u.to).join(",")])).toEqual([
      ["hono", "already the newest release"],
      ["postgres", "3.5.0"],
      ["drizzle-orm", "0.46.0"],
      ["@electric-sql/pglite", "not a dependency of this project"],
      ["all together", "3.5.0,0.46.0"],
    ]);
    expect(rows.at(-1)?.upgrades).toEqual([
      { name: "postgres", from: "3.4.9", to: "3.5.0" },
      { name: "drizzle-orm", from: "0.45.4", to: "0.46.0" },
    ]);
  });

  it("with --skip-individual runs only all together; --baseline adds the lockfile first", () => {
    const rows = planRuns(packages, { skipIndividual: true, baseline: true });
    expect(rows[0]).toMatchObject({ kind: "baseline", upgrades: [] });
    expect(rows.filter((r) => !r.skip).map((r) => r.label)).toEqual([
      "lockfile as is",
      "all together",
    ]);
    expect(rows.find((r) => r.label === "postgres")?.skip).toBe("--skip-individual");
  });

  it("does not repeat a single upgrade as all together, and skips it when nothing is behind", () => {
    const one = planRuns(packages.slice(0, 2));
    expect(one.at(-1)).toMatchObject({ sameAs: "postgres" });
    expect(planRuns(packages.slice(0, 2), { skipIndividual: true }).at(-1)?.sameAs).toBeUndefined();
    expect(planRuns(packages.slice(0, 1)).at(-1)?.skip).toBe("nothing to upgrade");
  });

  it("never downgrades a version newer than the latest tag", () => {
    const rows = planRuns([{ name: "drizzle-kit", current: "1.0.0-beta.1", newest: "0.31.11" }]);
    expect(rows[0]?.skip).toBe("already the newest release");
  });
});

describe("parseVitestReport", () => {
  const report: VitestJsonReport = {
    success: false,
    numPassedTests: 40,
    numFailedTests: 2,
    numPendingTests: 3,
    numTodoTests: 1,
    numTotalTests: 46,
    testResults: [
      {
        name: "/tmp/copy/test/unit/env.test.ts",
        status: "failed",
        assertionResults: [
          { ancestorTitles: ["parseConfig"], title: "defaults", status: "passed" },
          {
            ancestorTitles: ["parseConfig", "ssl"],
            title: "reads sslmode",
            status: "failed",
            failureMessages: [
              "\u001b[31mAssertionError: expected 'a' to be 'b'\u001b[39m\n    at x",
            ],
          },
        ],
      },
      { name: "/tmp/copy/test/integration/api/users.test.ts", status: "passed" },
      {
        name: "/tmp/copy/test/integration/db/bulk.test.ts",
        status: "failed",
        message: "Failed to load url ../../src/db/bulk.js\nmore",
        assertionResults: [],
      },
    ],
  };

  it("counts passed, failed and skipped (pending + todo) tests", () => {
    expect(parseVitestReport(report, "/tmp/copy")).toMatchObject({
      success: false,
      passed: 40,
      failed: 2,
      skipped: 4,
      total: 46,
    });
  });

  it("names failing tests by file and titles, and files that failed outside any test", () => {
    expect(parseVitestReport(report, "/tmp/copy").failures).toEqual([
      {
        name: "test/unit/env.test.ts > parseConfig > ssl > reads sslmode",
        message: "AssertionError: expected 'a' to be 'b'",
      },
      {
        name: "test/integration/db/bulk.test.ts",
        message: "Failed to load url ../../src/db/bulk.js",
      },
    ]);
  });

  it("reads an empty report as no tests and no success", () => {
    expect(parseVitestReport({})).toEqual({
      success: false,
      passed: 0,
      failed: 0,
      skipped: 0,
      total: 0,
      failures: [],
    });
  });
});

describe("reading command output", () => {
  it("typeErrors keeps tsc's error lines", () => {
    const output = [
      "> tsc --noEmit -p .",
      "src/db/client.ts(3,10): error TS2305: Module './driver' has no exported member 'x'.",
      "test/a.test.ts(1,1): error TS2307: Cannot find module 'b'.",
      "npm error Lifecycle script `typecheck` failed",
    ].join("\n");
    expect(typeErrors(output)).toEqual([
      "src/db/client.ts(3,10): error TS2305: Module './driver' has no exported member 'x'.",
      "test/a.test.ts(1,1): error TS2307: Cannot find module 'b'.",
    ]);
  });

  it("failureLine prefers an error message, then an npm error, else the last line", () => {
    expect(failureLine("resolving...\nnpm error code ERESOLVE\nnpm error more\n")).toBe(
      "npm error code ERESOLVE",
    );
    expect(failureLine("one\ntwo\n\n")).toBe("two");
    const vitest = [
      "No test files found, exiting with code 1",
      "\u001b[31m⎯⎯⎯⎯⎯⎯ Unhandled Error ⎯⎯⎯⎯⎯⎯⎯\u001b[39m",
      "\u001b[31mError: Failed to load url ./driver/context.js\u001b[39m",
      " ❯ src/db/client.ts:29:1",
    ].join("\n");
    expect(failureLine(vitest)).toBe("Error: Failed to load url ./driver/context.js");
  });

  it("formatDuration shows seconds, then minutes and seconds", () => {
    expect(formatDuration(4_400)).toBe("4s");
    expect(formatDuration(185_000)).toBe("3m 5s");
  });
});

describe("the table", () => {
  const tests = (passed: number, failed: number, extra: Partial<RowResult["tests"]> = {}) => ({
    ok: failed === 0,
    success: failed === 0,
    passed,
    failed,
    skipped: 0,
    total: passed + failed,
    failures: [],
    ...extra,
  });
  const rows: RowResult[] = [
    {
      kind: "individual",
      label: "hono",
      current: "4.13.19",
      newest: "4.13.19",
      upgrades: [],
      skip: "already the newest release",
    },
    {
      kind: "individual",
      label: "postgres",
      current: "3.4.9",
      newest: "3.5.0",
      upgrades: [{ name: "postgres", from: "3.4.9", to: "3.5.0" }],
      install: { ok: true },
      typecheck: { ok: true, errors: [] },
      tests: tests(120, 0),
      durationMs: 95_000,
    },
    {
      kind: "individual",
      label: "drizzle-orm",
      current: "0.45.4",
      newest: "0.46.0",
      upgrades: [{ name: "drizzle-orm", from: "0.45.4", to: "0.46.0" }],
      install: { ok: true },
      typecheck: { ok: false, errors: ["src/db/x.ts(1,1): error TS2339: Property 'y'"] },
      tests: tests(118, 2, {
        failures: [
          { name: "test/a.test.ts > a > b", message: "expected <div> `x`" },
          { name: "test/c.test.ts > d", message: "" },
        ],
      }),
      durationMs: 130_000,
    },
    {
      kind: "together",
      label: "all together",
      upgrades: [],
      install: { ok: false, message: "npm error code ERESOLVE" },
      durationMs: 9_000,
    },
  ];

  it("rowStatus and exitCode: any failed install, typecheck or test run fails the canary", () => {
    expect(rows.map(rowStatus)).toEqual(["skipped", "pass", "fail", "fail"]);
    expect(exitCode(rows)).toBe(1);
    expect(exitCode(rows.slice(0, 2))).toBe(0);
  });

  it("formatTable aligns one line per row under the header", () => {
    const lines = formatTable(rows).split("\n");
    expect(lines[0]).toMatch(/^package\s+current\s+newest\s+typecheck\s+tests \(passed\/failed\)/);
    expect(lines).toHaveLength(2 + rows.length);
    expect(lines[3]).toMatch(/^postgres\s+3\.4\.9\s+3\.5\.0\s+pass\s+pass 120\/0\s+1m 35s$/);
    expect(lines[4]).toMatch(/^drizzle-orm .*fail \(1 error\)\s+FAIL 118\/2\s+2m 10s$/);
    expect(lines[5]).toMatch(/^all together\s+—\s+—\s+—\s+—\s+9s\s+install failed: npm error/);
    const long = { ...rows[3], install: { ok: false, message: "x".repeat(200) } } as RowResult;
    expect(formatTable([long]).split("\n")[2]).toMatch(/ install failed: x{73}…$/);
    // Columns line up: postgres's typecheck cell starts under the header's.
    expect(lines[3]?.indexOf("pass")).toBe(lines[0]?.indexOf("typecheck"));
  });

  it("failureDetails lists what failed, per row", () => {
    expect(failureDetails(rows)).toEqual([
      {
        label: "drizzle-orm",
        lines: [
          "typecheck: src/db/x.ts(1,1): error TS2339: Property 'y'",
          "test: test/a.test.ts > a > b — expected <div> `x`",
          "test: test/c.test.ts > d",
        ],
      },
      { label: "all together", lines: ["install: npm error code ERESOLVE"] },
    ]);
    expect(failureDetails(rows, 1)[0]?.lines.at(-1)).toBe("test: ... and 1 more");
  });

  it("formatMarkdown gives a status line, a table and the failures, safe to render", () => {
    const report: CanaryReport = {
      date: "2026-01-05T06:00:00.000Z",
      node: "v20.19.0",
      npm: "11.0.0",
      rows,
    };
    const markdown = formatMarkdown(report);
    expect(markdown).toContain(
      "**Dependency canary: FAIL** (2026-01-05, Node v20.19.0, npm 11.0.0)",
    );
    expect(markdown).toContain(
      "| package | current | newest | typecheck | tests (passed/failed) | time | note |",
    );
    expect(markdown).toContain("| postgres | 3.4.9 | 3.5.0 | pass | pass 120/0 | 1m 35s |  |");
    expect(markdown).toContain("  - test: test/a.test.ts > a > b — expected &lt;div> 'x'");
    expect(formatMarkdown({ ...report, rows: rows.slice(0, 2) })).toMatch(/canary: pass/);
    expect(formatMarkdown({ ...report, error: "npm ci failed" })).toContain(
      "The canary stopped: npm ci failed",
    );
  });
});

describe("compareWithBaseline", () => {
  const failing = (label: string, kind: RowResult["kind"], names: string[]): RowResult => ({
    kind,
    label,
    upgrades: [],
    install: { ok: true },
    typecheck: { ok: false, errors: ["src/a.ts(1,1): error TS2307: Cannot find module './b.js'"] },
    tests: {
      ok: false,
      success: false,
      passed: 10,
      failed: names.length,
      skipped: 0,
      total: 10 + names.length,
      // Messages differ between runs of the same failure (ids, timings): names decide.
      failures: names.map((name) => ({ name, message: `took ${Math.random()} ms` })),
    },
  });

  it("keeps only the failures the lockfile as is does not share", () => {
    const rows = compareWithBaseline([
      failing("lockfile as is", "baseline", ["a.test.ts > one", "a.test.ts > two"]),
      failing("hono", "individual", ["a.test.ts > two", "a.test.ts > one"]),
      failing("all together", "together", ["a.test.ts > one", "b.test.ts > three"]),
    ]);
    expect(rows[0]?.newFailures).toBeUndefined();
    expect(rows[1]?.newFailures).toEqual([]);
    expect(rows[2]?.newFailures).toEqual(["test: b.test.ts > three"]);
    expect(formatTable(rows)).toMatch(/hono .*fails as the lockfile does/);
    expect(formatTable(rows)).toMatch(/all together .*1 failure the lockfile has not/);
    expect(failureDetails(rows).map((d) => [d.label, d.lines.length])).toEqual([
      ["lockfile as is", 3],
      ["all together", 1],
    ]);
    // A shared failure is still a failure: the canary stays red.
    expect(exitCode(rows)).toBe(1);
  });

  it("leaves the rows alone without a baseline that installed", () => {
    const rows = [failing("hono", "individual", ["a.test.ts > one"])];
    expect(compareWithBaseline(rows)[0]?.newFailures).toBeUndefined();
    const broken = { ...failing("lockfile as is", "baseline", []), install: { ok: false } };
    expect(compareWithBaseline([broken, ...rows])[1]?.newFailures).toBeUndefined();
  });
});
