/**
 * Throughput of the demo's GET /users/{id} (and, with BENCH_LAYERS=1, of the demo with one layer
 * switched off at a time) against a minimal Hono + postgres.js server doing the same query (bench/http/baseline-server.ts): same machine, same database, same pool size, same
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
import type { ChildProcess } from "node:child_process";
import autocannon from "autocannon";
import postgres from "postgres";
import { seed } from "../../seeds/index.js";
import { createDatabase } from "../../src/db/client.js";
import { users } from "../../src/db/schema/index.js";
import { parseConfig } from "../../src/env.js";
import { migrateDatabaseUrl } from "../../src/migrator/migrate.js";
import { median } from "../harness.js";
import { combine, type Run, serverReady, startServer, stopServer } from "../servers.js";

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
    // Reads only, from one address: no write tokens, and no rate limit, which would answer
    // most of the load with 429.
    const demo = (own: Record<string, string> = {}) => ({
      script: "dist/src/server.js",
      env: {
        NODE_ENV: "production",
        LOG_LEVEL: "info",
        API_AUTH: "off",
        RATE_LIMIT: "off",
        ...own,
      },
    });
    // BENCH_LAYERS=1 adds the demo with one layer switched off each, to show what each costs.
    const servers: Record<string, { script: string; env: Record<string, string> }> = {
      demo: demo(),
      ...(env.BENCH_LAYERS === "1"
        ? {
            "demo, METRICS_ENABLED=false": demo({ METRICS_ENABLED: "false" }),
            "demo, LOG_LEVEL=warn (no access log)": demo({ LOG_LEVEL: "warn" }),
            "demo, LOG_REQUEST_CONTEXT=off": demo({ LOG_REQUEST_CONTEXT: "off" }),
          }
        : {}),
      baseline: { script: "dist/bench/http/baseline-server.js", env: {} },
    };
    const names = Object.keys(servers);
    const port = (name: string) => 3901 + names.indexOf(name);
    const results: Record<string, Run[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? names : [...names].reverse();
      const running = order.map((name) => {
        const { script, env: own } = servers[name] ?? demo();
        const child = startServer(script, { ...common, ...own, PORT: String(port(name)) });
        children.push(child);
        return child;
      });
      await Promise.all(
        order.map((name) => serverReady(`http://127.0.0.1:${port(name)}/users/${ids[0]}`)),
      );
      // JIT, prepared statements on every pooled connection.
      for (const name of order) await load(port(name), ids, warmupSeconds);
      const parts: Record<string, Run[]> = Object.fromEntries(names.map((n) => [n, []]));
      for (let slice = 0; slice < slices; slice++) {
        // ABBA: each server goes first as often as last.
        for (const name of slice % 2 === 0 ? order : [...order].reverse()) {
          parts[name]?.push(await load(port(name), ids, seconds / slices));
        }
      }
      for (const name of order) {
        const run = combine(parts[name] ?? []);
        results[name]?.push(run);
        console.log(
          `round ${round + 1} ${name.padEnd(38)} ${run.rps.toFixed(0)} req/s  p99 ${run.p99} ms  non-2xx ${run.errors}`,
        );
      }
      await Promise.all(running.map(stopServer));
    }
    // Each round's servers ran interleaved, so a per-round ratio is immune to the machine
    // drifting between rounds; the median of those is the headline number.
    const baseline = results.baseline ?? [];
    console.log(`\nmedians of ${rounds} rounds (GET /users/{id}, ${connections} connections):`);
    console.table(
      Object.fromEntries(
        names.map((name) => {
          const runs = results[name] ?? [];
          const ratios = runs.map((run, i) => run.rps / (baseline[i]?.rps ?? Number.NaN));
          return [
            name,
            {
              "req/s": Math.round(median(runs.map((r) => r.rps))),
              "p99 ms": median(runs.map((r) => r.p99)),
              "vs baseline (median of rounds)": Number(median(ratios).toFixed(3)),
              rounds: ratios.map((r) => r.toFixed(2)).join(" "),
            },
          ];
        }),
      ),
    );
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
    await admin.end();
  }
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

await main();
