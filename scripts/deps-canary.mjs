#!/usr/bin/env node
/**
 * Upgrade canary: does this project still type-check and pass its tests on the newest releases
 * of the dependencies it leans on hardest? It copies the tracked files (uncommitted edits
 * included) to a temporary folder, installs from the lockfile there, then upgrades each package
 * on its own and all of them together, running `npm run typecheck` and `npm test` each time. The
 * checkout, its node_modules and its lockfile are never touched. See docs/upgrades.md.
 *
 *   npm run deps:canary                          # each package on its own, then all together
 *   npm run deps:canary -- --skip-individual     # all together only
 *   npm run deps:canary -- --only hono,@hono/node-server --markdown canary.md --json canary.json
 *   npm run deps:canary -- --baseline --keep     # also the lockfile as is; keep folder and logs
 *
 * The tests see the caller's environment (TEST_DATABASE_URL picks their database). Exit code 0:
 * every configuration passed; 1: one failed; 2: the canary itself could not run; 130: interrupted.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CANARY_PACKAGES, parseArgs, planRuns, USAGE, UsageError } from "./deps-canary/plan.mjs";
import {
  compareWithBaseline,
  exitCode,
  failureDetails,
  failureLine,
  formatDuration,
  formatMarkdown,
  formatTable,
  parseVitestReport,
  typeErrors,
} from "./deps-canary/report.mjs";

let activeChild;
let interrupted;

/** Runs a command in the copy; output goes to `log` (when given) and is returned. */
function run(command, args, { cwd, log }) {
  const started = performance.now();
  return new Promise((settle) => {
    const chunks = [];
    let finished = false;
    // A child that cannot start emits "error" and may still emit "close": settle once.
    const finish = (code) => {
      if (finished) return;
      finished = true;
      activeChild = undefined;
      const output = Buffer.concat(chunks).toString("utf8");
      // An uncaught throw here would skip the cleanup and the table: a log is not worth that.
      try {
        if (log) fs.writeFileSync(log, `$ ${command} ${args.join(" ")}\n${output}`);
      } catch (error) {
        process.stderr.write(`deps-canary: could not write ${log}: ${error}\n`);
      }
      settle({ code, output, durationMs: performance.now() - started });
    };
    const child = spawn(command, args, { cwd, env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
    activeChild = child;
    child.stdout.on("data", (chunk) => chunks.push(chunk));
    child.stderr.on("data", (chunk) => chunks.push(chunk));
    child.once("error", (error) => {
      chunks.push(Buffer.from(String(error)));
      finish(1);
    });
    child.once("close", (code) => finish(code ?? 1));
  });
}

/**
 * The caller's environment (TEST_DATABASE_URL, CI, ...), minus what `npm run` exports about the
 * real checkout: the copy's own npm commands must only ever see the copy.
 */
function childEnv() {
  // biome-ignore lint/style/noProcessEnv: the checks run with the caller's environment by design
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (
      /^(npm_package_|npm_lifecycle_|npm_config_local_prefix$|npm_command$|INIT_CWD$)/.test(key)
    ) {
      delete env[key];
    }
  }
  return env;
}

/**
 * Tracked files as they are on disk: uncommitted edits included, deleted files left out. With
 * `untracked`, also new files git does not ignore yet (work in progress that is not added).
 */
function copyProjectFiles(root, target, untracked) {
  const others = untracked ? ["--others", "--exclude-standard"] : [];
  const files = execFileSync("git", ["ls-files", "-z", "--cached", ...others], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  for (const file of files.split("\0").filter(Boolean)) {
    const from = join(root, file);
    const to = join(target, file);
    const stat = fs.lstatSync(from, { throwIfNoEntry: false });
    if (!stat || stat.isDirectory()) continue; // deleted, or a submodule
    fs.mkdirSync(dirname(to), { recursive: true });
    if (stat.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
    else fs.copyFileSync(from, to);
  }
}

async function resolveVersions(project, names) {
  const manifest = JSON.parse(fs.readFileSync(join(project, "package.json"), "utf8"));
  const lock = JSON.parse(fs.readFileSync(join(project, "package-lock.json"), "utf8"));
  const declared = { ...manifest.dependencies, ...manifest.devDependencies };
  const packages = [];
  for (const name of names) {
    if (declared[name] === undefined) {
      packages.push({ name, current: undefined, newest: undefined });
      continue;
    }
    const current = lock.packages?.[`node_modules/${name}`]?.version ?? declared[name];
    const view = await run("npm", ["view", name, "dist-tags.latest"], { cwd: project });
    const newest = view.output.trim().split("\n").at(-1);
    if (view.code !== 0 || !newest) {
      throw new Error(`npm view ${name}: ${failureLine(view.output)}`);
    }
    packages.push({ name, current, newest });
  }
  return packages;
}

/** Installs the row's upgrades over the pristine lockfile, then runs typecheck and tests. */
async function runConfiguration(row, { project, work, pristine, packages }) {
  const started = performance.now();
  const slug = row.label.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "");
  const log = (step) => join(work, "logs", `${slug}.${step}.log`);
  for (const [file, text] of Object.entries(pristine)) fs.writeFileSync(join(project, file), text);

  // npm install over the restored lockfile also puts back whatever the previous row upgraded.
  const specs = row.upgrades.map((u) => `${u.name}@${u.to}`);
  const installArgs = ["install", "--no-audit", "--no-fund", "--save-exact", ...specs];
  const install = await run("npm", installArgs, { cwd: project, log: log("install") });
  const wrong = packages
    .filter((p) => p.current !== undefined)
    .map((p) => [p.name, row.upgrades.find((u) => u.name === p.name)?.to ?? p.current])
    .filter(([name, want]) => installedVersion(project, name) !== want);
  row.install = { ok: install.code === 0 && wrong.length === 0, durationMs: install.durationMs };
  // Messages name files relative to the copy, as they are in the checkout.
  const why = (output) => failureLine(output).replaceAll(`${project}/`, "");
  if (install.code !== 0) row.install.message = why(install.output);
  else if (wrong.length > 0) {
    row.install.message = wrong
      .map(([name, want]) => `${name} is ${installedVersion(project, name)}, expected ${want}`)
      .join("; ");
  }

  if (row.install.ok && !interrupted) {
    const typecheck = await run("npm", ["run", "typecheck"], {
      cwd: project,
      log: log("typecheck"),
    });
    row.typecheck = {
      ok: typecheck.code === 0,
      errors: typeErrors(typecheck.output),
      durationMs: typecheck.durationMs,
    };
  }
  // The tests run even when tsc fails: vitest does not type-check, and both results help.
  if (row.install.ok && !interrupted) {
    const reportFile = join(work, "reports", `${slug}.json`);
    const reporters = ["--reporter=default", "--reporter=json", `--outputFile.json=${reportFile}`];
    const tests = await run("npm", ["test", "--", ...reporters], {
      cwd: project,
      log: log("tests"),
    });
    const summary = fs.existsSync(reportFile)
      ? parseVitestReport(JSON.parse(fs.readFileSync(reportFile, "utf8")), project)
      : { success: false, passed: 0, failed: 0, skipped: 0, total: 0, failures: [] };
    row.tests = {
      ...summary,
      ok: tests.code === 0 && summary.success,
      durationMs: tests.durationMs,
    };
    if (!row.tests.ok && summary.failures.length === 0) {
      row.tests.message = `vitest exited ${tests.code}: ${why(tests.output)}`;
    }
  }
  row.durationMs = performance.now() - started;
}

function installedVersion(project, name) {
  const file = join(project, "node_modules", name, "package.json");
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")).version : undefined;
}

const say = (text) => process.stdout.write(`${text}\n`);

function describeResult(row) {
  const parts = [`install ${formatDuration(row.install?.durationMs ?? 0)}`];
  if (row.install?.ok === false) parts.push(`FAILED: ${row.install.message}`);
  if (row.typecheck) parts.push(`typecheck ${row.typecheck.ok ? "pass" : "FAIL"}`);
  if (row.tests) {
    const { ok, passed, failed } = row.tests;
    parts.push(
      `tests ${ok ? "pass" : "FAIL"} ${passed}/${failed} ${formatDuration(row.tests.durationMs)}`,
    );
  }
  return parts.join(", ");
}

async function main(argv) {
  const options = parseArgs(argv);
  if (options.help) {
    say(USAGE.trimEnd());
    return 0;
  }
  // biome-ignore lint/style/noProcessEnv: output paths are relative to where the caller stood
  const callerCwd = process.env.INIT_CWD ?? process.cwd();
  const outputs = { markdown: options.markdown, json: options.json };
  for (const key of Object.keys(outputs)) {
    if (outputs[key]) outputs[key] = resolve(callerCwd, outputs[key]);
  }

  const npmVersion = execFileSync("npm", ["--version"], {
    encoding: "utf8",
    env: childEnv(),
  }).trim();
  const root = fileURLToPath(new URL("..", import.meta.url));
  const work = fs.mkdtempSync(join(fs.realpathSync(tmpdir()), "deps-canary-"));
  const project = join(work, "project");
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    npm: npmVersion,
    rows: [],
  };
  try {
    if (!relative(root, work).startsWith("..")) throw new Error(`${work} is inside the repository`);
    for (const folder of ["project", "logs", "reports"]) fs.mkdirSync(join(work, folder));
    copyProjectFiles(root, project, options.untracked);
    say(
      `copied the ${options.untracked ? "tracked and untracked" : "tracked"} files to ${project}`,
    );
    const packages = await resolveVersions(project, options.only ?? CANARY_PACKAGES);
    report.rows = planRuns(packages, options);
    for (const row of report.rows.filter((r) => r.skip && r.kind === "individual")) {
      say(`${[row.label, row.current].filter(Boolean).join(" ")}: ${row.skip}, no individual run`);
    }
    const runs = report.rows.filter((row) => !row.skip && !row.sameAs);
    if (runs.length === 0) return 0;

    say("npm ci (from the lockfile)");
    const ci = await run("npm", ["ci", "--no-audit", "--no-fund"], {
      cwd: project,
      log: join(work, "logs", "npm-ci.log"),
    });
    if (ci.code !== 0) throw new Error(`npm ci failed: ${failureLine(ci.output)}`);
    const pristine = Object.fromEntries(
      ["package.json", "package-lock.json"].map((f) => [
        f,
        fs.readFileSync(join(project, f), "utf8"),
      ]),
    );
    for (const [i, row] of runs.entries()) {
      if (interrupted) break;
      const what =
        row.upgrades.map((u) => `${u.name} ${u.from} -> ${u.to}`).join(", ") || "no upgrade";
      say(`[${i + 1}/${runs.length}] ${row.label}: ${what}`);
      await runConfiguration(row, { project, work, pristine, packages });
      say(`  ${describeResult(row)}`);
    }
    for (const row of report.rows.filter((r) => r.sameAs)) {
      const same = report.rows.find((r) => r.label === row.sameAs);
      Object.assign(row, {
        install: same?.install,
        typecheck: same?.typecheck,
        tests: same?.tests,
      });
    }
    compareWithBaseline(report.rows);
    if (interrupted) report.error = `interrupted by ${interrupted}`;
  } catch (error) {
    report.error = error instanceof Error ? error.message : String(error);
  } finally {
    for (const row of report.rows) {
      if (!row.skip && !row.tests && !row.install) row.skip = "not run";
    }
    say(`\n${formatTable(report.rows)}`);
    for (const { label, lines } of failureDetails(report.rows)) {
      say(`\n${label}:\n  ${lines.join("\n  ")}`);
    }
    if (report.error) process.stderr.write(`\ndeps-canary: ${report.error}\n`);
    if (outputs.markdown) fs.writeFileSync(outputs.markdown, formatMarkdown(report));
    if (outputs.json) fs.writeFileSync(outputs.json, `${JSON.stringify(report, null, 2)}\n`);
    if (options.keep) say(`\nkept ${work} (logs/ has every command's output)`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
  if (interrupted) return 130;
  return report.error ? 2 : exitCode(report.rows);
}

// A child in the same process group gets Ctrl+C itself; SIGTERM (a CI timeout) is passed on.
// Either way the run stops after the current step and still cleans up and prints the table.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    interrupted = signal;
    activeChild?.kill(signal);
  });
}
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(
      `deps-canary: ${error.message}\n${error instanceof UsageError ? USAGE : ""}`,
    );
    process.exitCode = 2;
  },
);
