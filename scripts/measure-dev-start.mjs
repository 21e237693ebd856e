#!/usr/bin/env node
/**
 * Times `npm run dev` on the embedded database until `GET /health/ready` answers 200:
 *   1. first start: an empty data directory (migrations, demo data);
 *   2. start on the data directory the first start left behind;
 *   3. warm restart: with that server running, a source file is touched and tsx watch restarts
 *      it; timed from the touch until the new process answers.
 * Each run uses its own data directory (in the temp dir) and port, so it neither reads nor
 * changes `.data/pglite` and can run beside a dev server of your own.
 *
 *   node scripts/measure-dev-start.mjs [--runs N] [--touch src/file.ts]
 *
 * Prints one line per measurement and the medians.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, utimesSync } from "node:fs";
import { get } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "1" },
    touch: { type: "string", default: "src/server.ts" },
  },
});
const runs = Number(values.runs);
const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 20;

// biome-ignore lint/style/noProcessEnv: a launcher passes the caller's environment on by design
const { DATABASE_URL: _ignored, ...callerEnv } = process.env;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** 200, another status, or 0 when nothing answered; a new connection each time. */
const probe = (port) =>
  new Promise((resolve) => {
    const request = get(
      { host: "127.0.0.1", port, path: "/health/ready", agent: false, timeout: 1_000 },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.once("timeout", () => request.destroy());
    request.once("error", () => resolve(0));
  });

/** Milliseconds from `since` until /health/ready answers 200; `mustFail` waits for a gap first. */
async function untilReady(port, since, { mustFail = false } = {}) {
  let sawGap = !mustFail;
  while (performance.now() - since < READY_TIMEOUT_MS) {
    const status = await probe(port);
    if (status !== 200) sawGap = true;
    else if (sawGap) return performance.now() - since;
    await sleep(POLL_MS);
  }
  throw new Error(`/health/ready did not answer 200 within ${READY_TIMEOUT_MS} ms`);
}

function startDev(dataDir, port) {
  const child = spawn("npm", ["run", "dev"], {
    env: { ...callerEnv, PGLITE_DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group: npm, tsx watch and the server stop together
  });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    output: () => output,
    stop: async () => {
      try {
        process.kill(-child.pid, "SIGINT");
      } catch {
        return; // already gone
      }
      const timer = setTimeout(() => process.kill(-child.pid, "SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function measureOnce() {
  const root = mkdtempSync(join(tmpdir(), "measure-dev-"));
  const dataDir = join(root, "pglite");
  const port = await freePort();
  const result = {};
  let dev;
  try {
    let since = performance.now();
    dev = startDev(dataDir, port);
    result.firstStart = await untilReady(port, since);
    await dev.stop();

    since = performance.now();
    dev = startDev(dataDir, port);
    result.existingDataDir = await untilReady(port, since);

    // Let tsx watch settle before the change, as after a real edit.
    await sleep(1_000);
    const now = new Date();
    since = performance.now();
    utimesSync(values.touch, now, now);
    result.warmRestart = await untilReady(port, since, { mustFail: true });
  } catch (error) {
    process.stderr.write(`${dev?.output() ?? ""}\n`);
    throw error;
  } finally {
    await dev?.stop();
    rmSync(root, { recursive: true, force: true });
  }
  return result;
}

const all = [];
for (let run = 1; run <= runs; run++) {
  const result = await measureOnce();
  all.push(result);
  const line = Object.entries(result)
    .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(2)} s`)
    .join(", ");
  console.log(`run ${run}: ${line}`);
}
if (runs > 1) {
  const median = (xs) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];
  const names = Object.keys(all[0]);
  console.log(
    `median: ${names.map((name) => `${name} ${(median(all.map((r) => r[name])) / 1000).toFixed(2)} s`).join(", ")}`,
  );
}
