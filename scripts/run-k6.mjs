#!/usr/bin/env node
/**
 * Runs a k6 script of loadtests/ with the caller's environment (BASE_URL, RATE, DURATION, ...),
 * after creating the directory the end-of-test summary is written to, and exits with k6's code.
 *
 *   node scripts/run-k6.mjs <smoke|load|stress|spike|soak> [k6 run flags...]
 *   npm run load:load -- --out json=loadtests/results/load.ndjson
 *
 * k6 is the one on PATH; without one, `../shared/bin/k6-ts` beside the repository, where
 * machines without a k6 install keep a pinned k6 that bundles the TypeScript first.
 */
import { spawn } from "node:child_process";
import { accessSync, existsSync, constants as fsConstants, mkdirSync, readdirSync } from "node:fs";
import { constants } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

const INSTALL_URL = "https://grafana.com/docs/k6/latest/set-up/install-k6/";

// The same defaults as loadtests/lib/config.ts, which is what k6 will use.
// biome-ignore lint/style/noProcessEnv: a launcher reads the caller's environment by design
const env = process.env;
const { BASE_URL = "http://localhost:3000", SUMMARY_DIR = "loadtests/results", PATH = "" } = env;

const [name, ...k6Flags] = process.argv.slice(2);
const script = `loadtests/${name}.ts`;
if (name === undefined || !existsSync(script)) {
  const available = readdirSync("loadtests")
    .filter((file) => file.endsWith(".ts"))
    .map((file) => file.slice(0, -".ts".length));
  process.stderr.write(
    `usage: node scripts/run-k6.mjs <${available.join("|")}> [k6 run flags...]\n`,
  );
  process.exit(2);
}

// handleSummary writes its JSON here, and k6 does not create missing directories.
mkdirSync(SUMMARY_DIR, { recursive: true });

const isExecutable = (path) => {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
};
const k6OnPath = PATH.split(delimiter)
  .filter((dir) => dir !== "")
  .map((dir) => join(dir, "k6"))
  .find(isExecutable);
const k6Bundling = fileURLToPath(new URL("../../shared/bin/k6-ts", import.meta.url));
// k6-ts takes the script first and passes the rest to `k6 run`.
const [command, args] = k6OnPath
  ? [k6OnPath, ["run", ...k6Flags, script]]
  : isExecutable(k6Bundling)
    ? [k6Bundling, [script, ...k6Flags]]
    : ["k6", ["run", ...k6Flags, script]];

process.stdout.write(`${script} -> ${BASE_URL} (${command})\n`);

// k6 reads the scripts' settings from its environment, which the child inherits unchanged.
const k6 = spawn(command, args, { stdio: "inherit" });

// Ctrl+C reaches k6 directly (same process group) and k6 then stops gracefully, still running
// teardown() and handleSummary(); the launcher must outlive it rather than die first. A SIGTERM
// aimed at the launcher alone (a CI timeout, say) is passed on.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => k6.kill("SIGTERM"));

k6.on("error", (error) => {
  if (error.code === "ENOENT") {
    process.stderr.write(`k6 is not installed (or not on PATH). Install it: ${INSTALL_URL}\n`);
  } else {
    process.stderr.write(`could not start k6: ${error.message}\n`);
  }
  process.exit(1);
});

k6.on("exit", (code, signal) => {
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
