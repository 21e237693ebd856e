/**
 * Throughput of the demo's GET /users/{id} against a minimal Hono + postgres.js server doing the
 * same query (bench/http/baseline-server.ts): same machine, same database, same pool size, same
 * node flags, same load generator (autocannon) and connection count, in the same run. Both run
 * compiled, as `npm start` runs the demo. Each round starts both servers afresh, warms each up,
 * then measures them in alternating slices (demo, baseline, baseline, demo, …; BENCH_SECONDS per
 * server in BENCH_SLICES slices), so nothing a process accumulates over its lifetime, no drift of
 * a shared machine between rounds and no burst of a noisy neighbour within one can favour one of
 * them. Reports requests/s, p99 latency and the ratio.
 *
 *   npm run bench:http   # builds, then BENCH_DATABASE_URL (default: local postgres), 5 rounds
 *
 * A scratch database is created, migrated, seeded and dropped. Not a test: nothing asserts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import autocannon from "autocannon";
import postgres from "postgres";
import { seed } from "../../seeds/index.js";
import { createDatabase } from "../../src/db/client.js";
import { migrateDatabaseUrl } from "../../src/migrator/migrate.js";
import { users } from "../../src/db/schema/index.js";
import { parseConfig } from "../../src/env.js";

// biome-ignore lint/style/noProcessEnv: bench harness settings
const env = process.env;
const adminUrl = env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const rounds = Number(env.BENCH_ROUNDS ?? 5);
const seconds = Number(env.BENCH_SECONDS ?? 10);
const slices = Number(env.BENCH_SLICES ?? 5);
const warmupSeconds = Number(env.BENCH_WARMUP_SECONDS ?? 5);
const connections = Number(env.BENCH_CONNECTIONS ?? 50);
const poolMax = env.BENCH_POOL_MAX ?? "10";

const dbName = `bench_http_${Date.now()}`;
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();

async function main() {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database "${dbName}"`);
  const children: ChildProcess[] = [];
  try {
    const config = parseConfig({ DATABASE_URL: dbUrl });
    await migrateDatabaseUrl(config.database);
    const database = await createDatabase(config.database);
    await seed(database.db);
    const ids = (await database.db.select({ id: users.id }).from(users)).map((r) => r.id);
    await database.close();

    const common = { DATABASE_URL: dbUrl, DATABASE_POOL_MAX: poolMax, PATH: env.PATH ?? "" };
    const servers = {
      // BENCH_DEMO_LOG_LEVEL=warn measures the demo without its access lines.
      demo: {
        script: "dist/src/server.js",
        port: 3901,
        env: { NODE_ENV: "production", LOG_LEVEL: env.BENCH_DEMO_LOG_LEVEL ?? "info" },
      },
      baseline: { script: "dist/bench/http/baseline-server.js", port: 3902, env: {} },
    };
    const results = { demo: [] as Run[], baseline: [] as Run[] };
    for (let round = 0; round < rounds; round++) {
      const order =
        round % 2 === 0 ? (["demo", "baseline"] as const) : (["baseline", "demo"] as const);
      const running = order.map((which) => {
        const { script, port, env: own } = servers[which];
        const child = start(script, { ...common, ...own, PORT: String(port) });
        children.push(child);
        return child;
      });
      await Promise.all(
        order.map((which) => ready(`http://127.0.0.1:${servers[which].port}/users/${ids[0]}`)),
      );
      // JIT, prepared statements on every pooled connection.
      for (const which of order) await load(servers[which].port, ids, warmupSeconds);
      const parts = { demo: [] as Run[], baseline: [] as Run[] };
      for (let slice = 0; slice < slices; slice++) {
        // ABBA: each server goes first as often as second.
        for (const which of slice % 2 === 0 ? order : [...order].reverse()) {
          parts[which].push(await load(servers[which].port, ids, seconds / slices));
        }
      }
      for (const which of order) {
        const run = combine(parts[which]);
        results[which].push(run);
        console.log(
          `round ${round + 1} ${which.padEnd(8)} ${run.rps.toFixed(0)} req/s  p99 ${run.p99} ms  non-2xx ${run.errors}`,
        );
      }
      await Promise.all(running.map(stop));
    }
    const demoRps = median(results.demo.map((r) => r.rps));
    const baseRps = median(results.baseline.map((r) => r.rps));
    console.log("\nmedian of rounds (GET /users/{id}, %d connections):", connections);
    console.table({
      demo: { "req/s": Math.round(demoRps), "p99 ms": median(results.demo.map((r) => r.p99)) },
      baseline: {
        "req/s": Math.round(baseRps),
        "p99 ms": median(results.baseline.map((r) => r.p99)),
      },
    });
    // Each round's pair ran interleaved, so its ratio is immune to the machine drifting between
    // rounds; the median of those is the headline number.
    const pairRatios = results.demo.map(
      (run, i) => run.rps / (results.baseline[i]?.rps ?? Number.NaN),
    );
    console.log(`ratio of medians demo/baseline: ${(demoRps / baseRps).toFixed(3)}`);
    console.log(
      `median of per-round ratios: ${median(pairRatios).toFixed(3)} ` +
        `(rounds: ${pairRatios.map((r) => r.toFixed(2)).join(", ")}; target >= 0.85)`,
    );
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
    await admin.end();
  }
}

interface Run {
  rps: number;
  p99: number;
  errors: number;
  requests: number;
  seconds: number;
}

/** A server's slices of one round: their requests over their time; the median slice's p99. */
function combine(parts: Run[]): Run {
  const requests = parts.reduce((sum, part) => sum + part.requests, 0);
  const seconds = parts.reduce((sum, part) => sum + part.seconds, 0);
  return {
    rps: requests / seconds,
    p99: median(parts.map((part) => part.p99)),
    errors: parts.reduce((sum, part) => sum + part.errors, 0),
    requests,
    seconds,
  };
}

/** The node flags `npm start` uses, for both servers alike. */
const NODE_FLAGS = ["--max-semi-space-size=32"];

function start(script: string, childEnv: Record<string, string>) {
  // Output is discarded but still produced: the demo pays for its access log as in production.
  return spawn(process.execPath, [...NODE_FLAGS, script], { env: childEnv, stdio: "ignore" });
}

function stop(child: ChildProcess) {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

async function ready(url: string) {
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not come up`);
}

async function load(port: number, ids: string[], duration: number): Promise<Run> {
  let i = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration,
    requests: [
      {
        method: "GET",
        setupRequest: (request) => ({ ...request, path: `/users/${ids[i++ % ids.length]}` }),
      },
    ],
  });
  return {
    rps: result.requests.total / result.duration,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors,
    requests: result.requests.total,
    seconds: result.duration,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

await main();
