/**
 * `db:doctor` as a process: exit codes, one-line messages for bad input and for a server it
 * can't reach, the text and --json reports of a database with a planted failure.
 */
import { describe, expect, it } from "vitest";
import { NEEDS_SERVER, onRealServer } from "../../setup/test-database.js";
import { createScratchDatabase, openSession, unique } from "../inspect/helpers.js";
import { type CliResult, runDoctorCli } from "./helpers.js";

const A_STACK_FRAME = /^\s+at /m;

function expectUsageExit(result: CliResult, message: string | RegExp) {
  expect(result.code, result.stderr).toBe(2);
  const [first, ...rest] = result.stderr.split("\n");
  expect(first).toMatch(/^db:doctor: /);
  expect(first).toMatch(message);
  expect(rest.join("\n")).toContain("usage: npm run db:doctor -- [options]");
  expect(result.stderr).not.toMatch(A_STACK_FRAME);
  expect(result.stdout).toBe("");
}

describe("db:doctor input checks (no server needed)", () => {
  const url = "postgres://doctor:s3cret-pw@127.0.0.1:1/app";

  it("rejects bad options and values with exit 2 before connecting", async () => {
    const cases: [string[], Record<string, string>, string | RegExp][] = [
      [["--instances", "0"], {}, '--instances must be a whole number >= 1, got "0"'],
      [["--instances"], {}, "--instances needs a value"],
      [["--long-seconds", "later"], {}, /--long-seconds must be a number of seconds >= 0/],
      [["--frobnicate"], {}, "unknown option --frobnicate"],
      [["now"], {}, 'unexpected argument "now"'],
      [[], { APP_INSTANCES: "two" }, 'APP_INSTANCES must be a whole number >= 1, got "two"'],
      [[], { DATABASE_POOL_MAX: "0" }, /^db:doctor: invalid configuration: DATABASE_POOL_MAX: /],
    ];
    // The URL points at a closed port: reaching it would fail with exit 3, not 2.
    const results = await Promise.all(
      cases.map(([args, env]) => runDoctorCli(args, { DATABASE_URL: url, ...env })),
    );
    results.forEach((result, index) => {
      expectUsageExit(result, cases[index]?.[2] ?? "");
    });
  });

  it("says it needs a real server when DATABASE_URL is unset, and prints help on -h", async () => {
    const [unset, help] = await Promise.all([runDoctorCli([], {}), runDoctorCli(["-h"], {})]);
    expectUsageExit(unset, "needs a real PostgreSQL server: set DATABASE_URL");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("exit codes: 0 no fail, 1 at least one fail");
  });

  it("exits 3 with one line, password hidden, when the server can't be reached", async () => {
    const result = await runDoctorCli([], { DATABASE_URL: url, DATABASE_CONNECT_TIMEOUT: "2" });
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^db:doctor: could not check postgres:\/\/doctor:\*\*\*@/);
    expect(result.stderr).not.toContain("s3cret-pw");
    expect(result.stdout).toBe("");
  });
});

describe.skipIf(!onRealServer())(`db:doctor reports (${NEEDS_SERVER})`, () => {
  it("exits 1 on a failed check, 0 on warnings only; --json holds the same verdicts", async () => {
    const [broken, clean] = [await createScratchDatabase(), await createScratchDatabase()];
    const session = await openSession(broken.url, `doctor-cli-${unique()}`);
    await session.sql`create table parent (id int primary key)`;
    await session.sql`create table child (id int primary key, parent_id int references parent)`;

    const [text, json, ok] = await Promise.all([
      runDoctorCli([], { DATABASE_URL: broken.url }),
      runDoctorCli(["--json", "--instances", "2"], { DATABASE_URL: broken.url }),
      runDoctorCli([], { DATABASE_URL: clean.url }),
    ]);
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toMatch(/^db:doctor on postgres:\/\/.+ \(PostgreSQL [\d.]+\)$/m);
    expect(text.stdout).toMatch(
      /^fail {2}foreign keys {11}1 of 1 without a supporting index: .+$/m,
    );
    expect(text.stdout).toMatch(/^ {8}child \(parent_id\) -> parent {2}\[child_parent_id_fkey, /m);
    expect(text.stdout).toMatch(/^\d+ ok, \d+ warn, 1 fail/m);
    expect(text.stderr).toBe("");

    expect(json.code, json.stderr).toBe(1);
    const report = JSON.parse(json.stdout) as {
      findings: { check: string; verdict: string; summary: string }[];
      counts: Record<string, number>;
    };
    expect(report.findings.find((f) => f.check === "foreign keys")?.verdict).toBe("fail");
    expect(report.findings.find((f) => f.check === "connection budget")?.summary).toMatch(
      /^2 instance\(s\) × /,
    );
    expect(report.counts.fail).toBe(1);

    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/ 0 fail/);
  });
});
