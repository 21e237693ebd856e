/**
 * The result cache (src/cache) on vs off: two demo servers, compiled as `npm start` runs them, on
 * the same seeded database, one with CACHE_REDIS_URL (default TTL), under the same load in the
 * same run. The load is the cached hot reads, GET /users/{id} and GET /accounts/{id} alternating
 * over every seeded user and account, plus BENCH_WRITES_PER_SECOND transfers between seeded
 * accounts sent to each server while it is measured, whose invalidations turn some reads into
 * misses. Each round starts both servers afresh, warms each up (which also fills the cache), then
 * measures them in alternating slices (ABBA), as bench/http/throughput.ts does. Reports
 * requests/s, p99, the speed-up (median of per-round ratios) and the cache's hit ratio over the
 * measured slices, read from its /metrics (cache_requests_total).
 *
 *   npm run bench:cache   # builds, then BENCH_DATABASE_URL (default: local postgres) and
 *                         # BENCH_REDIS_URL (default: redis://127.0.0.1:6379), 5 rounds
 *
 * A scratch database is created, migrated, seeded and dropped; the cache's keys live under a
 * prefix of their own and are deleted at the end. Not a test: nothing asserts.
 */
import type { ChildProcess } from "node:child_process";
import autocannon from "autocannon";
import { Redis } from "ioredis";
import postgres from "postgres";
import { seed } from "../seeds/index.js";
import { cacheKey } from "../src/cache/index.js";
import { createRedisClient } from "../src/cache/redis-client.js";
import { createResultCache } from "../src/cache/result-cache.js";
import { createDatabase, type Database } from "../src/db/client.js";
import { getUser } from "../src/db/repositories/users.js";
import { accounts, users } from "../src/db/schema/index.js";
import { parseConfig } from "../src/env.js";
import { createLogger } from "../src/logger.js";
import { migrateDatabaseUrl } from "../src/migrator/migrate.js";
import { interleaved, median } from "./harness.js";
import { combine, type Run, serverReady, startServer, stopServer } from "./servers.js";

// biome-ignore lint/style/noProcessEnv: bench harness settings
const env = process.env;
const adminUrl = env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const redisUrl = env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const rounds = Number(env.BENCH_ROUNDS ?? 5);
const seconds = Number(env.BENCH_SECONDS ?? 10);
const slices = Number(env.BENCH_SLICES ?? 4);
const warmupSeconds = Number(env.BENCH_WARMUP_SECONDS ?? 5);
const connections = Number(env.BENCH_CONNECTIONS ?? 50);
const writesPerSecond = Number(env.BENCH_WRITES_PER_SECOND ?? 20);
const poolMax = env.BENCH_POOL_MAX ?? "10";

const runId = Date.now();
const dbName = `bench_cache_${runId}`;
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
const keyPrefix = `bench-cache-${runId}`;

const SERVERS = {
  "cache off": {},
  "cache on": { CACHE_REDIS_URL: redisUrl },
} satisfies Record<string, Record<string, string>>;
type ServerName = keyof typeof SERVERS;
const NAMES = Object.keys(SERVERS) as ServerName[];

async function main() {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database "${dbName}"`);
  const children: ChildProcess[] = [];
  try {
    const config = parseConfig({ DATABASE_URL: dbUrl });
    await migrateDatabaseUrl(config.database);
    const database = await createDatabase(config.database);
    await seed(database.db);
    const userIds = (await database.db.select({ id: users.id }).from(users)).map((r) => r.id);
    const accountRows = await database.db
      .select({ id: accounts.id, currency: accounts.currency })
      .from(accounts);
    const pointRead = await pointReadCosts(database, userIds);
    await database.close();
    const paths = interleave(
      userIds.map((id) => `/users/${id}`),
      accountRows.map((a) => `/accounts/${a.id}`),
    );
    const pairs = transferPairs(accountRows);

    const results = Object.fromEntries(NAMES.map((n) => [n, [] as Run[]])) as Record<
      ServerName,
      Run[]
    >;
    const hitRatios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? NAMES : [...NAMES].reverse();
      const port = (name: ServerName) => 3951 + NAMES.indexOf(name);
      for (const name of order) {
        const child = startServer("dist/src/server.js", {
          DATABASE_URL: dbUrl,
          DATABASE_POOL_MAX: poolMax,
          PATH: env.PATH ?? "",
          NODE_ENV: "production",
          API_AUTH: "off",
          RATE_LIMIT: "off",
          CACHE_KEY_PREFIX: `${keyPrefix}-${round}`,
          PORT: String(port(name)),
          ...SERVERS[name],
        });
        children.push(child);
      }
      await Promise.all(
        order.map((name) => serverReady(`http://127.0.0.1:${port(name)}${paths[0]}`)),
      );
      for (const name of order) await measure(port(name), paths, pairs, warmupSeconds);
      const before = await cacheRequests(port("cache on"));
      const parts = Object.fromEntries(NAMES.map((n) => [n, [] as Run[]])) as Record<
        ServerName,
        Run[]
      >;
      for (let slice = 0; slice < slices; slice++) {
        for (const name of slice % 2 === 0 ? order : [...order].reverse()) {
          parts[name].push(await measure(port(name), paths, pairs, seconds / slices));
        }
      }
      const after = await cacheRequests(port("cache on"));
      const lookups = (r: string) => (after[r] ?? 0) - (before[r] ?? 0);
      const hitRatio = lookups("hit") / (lookups("hit") + lookups("miss") + lookups("bypass"));
      hitRatios.push(hitRatio);
      for (const name of order) {
        const run = combine(parts[name]);
        results[name].push(run);
        console.log(
          `round ${round + 1} ${name.padEnd(10)} ${run.rps.toFixed(0)} req/s  p99 ${run.p99} ms  non-2xx ${run.errors}` +
            (name === "cache on" ? `  hit ratio ${(hitRatio * 100).toFixed(1)} %` : ""),
        );
      }
      await Promise.all(children.splice(0).map(stopServer));
    }

    const off = results["cache off"];
    const on = results["cache on"];
    const speedups = on.map((run, i) => run.rps / (off[i]?.rps ?? Number.NaN));
    console.log(
      `\nmedians of ${rounds} rounds (GET /users/{id} and /accounts/{id}, ${connections} connections, ` +
        `${writesPerSecond} transfers/s, ${paths.length} keys):`,
    );
    console.table({
      "cache off": {
        "req/s": Math.round(median(off.map((r) => r.rps))),
        "p99 ms": median(off.map((r) => r.p99)),
        "hit ratio": "-",
        "on / off (median of rounds)": "-",
      },
      "cache on": {
        "req/s": Math.round(median(on.map((r) => r.rps))),
        "p99 ms": median(on.map((r) => r.p99)),
        "hit ratio": `${(median(hitRatios) * 100).toFixed(1)} %`,
        "on / off (median of rounds)": Number(median(speedups).toFixed(2)),
      },
    });
    console.log(`per-round on/off: ${speedups.map((s) => s.toFixed(2)).join(" ")}`);
    console.log(
      `one user read without HTTP, sequential (median of 5 rounds of ${pointRead.reads}): ` +
        `PostgreSQL ${pointRead.postgresUs.toFixed(0)} µs, cache hit ${pointRead.hitUs.toFixed(0)} µs`,
    );
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
    await admin.end();
    await deleteKeys(`${keyPrefix}-*`);
  }
}

/**
 * What one read costs below HTTP: the handler's PostgreSQL load (a prepared point query on the
 * instrumented pool) against a cache hit (MGET and JSON.parse), one at a time, in this process.
 */
async function pointReadCosts(database: Database, ids: string[]) {
  const redis = createRedisClient(redisUrl, 1_000);
  await new Promise((resolve) => redis.once("ready", resolve));
  const logger = createLogger({ logLevel: "warn", nodeEnv: "production" });
  const cache = createResultCache({ redis, keyPrefix: `${keyPrefix}-x`, ttlSeconds: 600, logger });
  const sample = ids.slice(0, 1_000);
  const readAll = async () => {
    for (const id of sample) await cache.get(cacheKey.user(id), () => getUser(database.db, id));
  };
  await readAll(); // fills the cache
  const times = await interleaved(5, {
    postgres: {
      run: async () => {
        for (const id of sample) await getUser(database.db, id);
      },
    },
    hit: { run: readAll },
  });
  const { hits } = cache.stats().kinds.user;
  if (hits !== 5 * sample.length) throw new Error(`${hits} hits of ${5 * sample.length} reads`);
  await cache.close();
  const perRead = (ms: number[]) => (median(ms) * 1000) / sample.length;
  return { reads: sample.length, postgresUs: perRead(times.postgres), hitUs: perRead(times.hit) };
}

/** a0, b0, a1, b1, ...: both kinds of read in every stretch of the load. */
function interleave(a: string[], b: string[]): string[] {
  return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => [a[i], b[i]])
    .flat()
    .filter((path): path is string => path !== undefined);
}

/** Pairs of accounts of one currency, for transfers of one unit. */
function transferPairs(rows: { id: string; currency: string }[]): [string, string][] {
  const byCurrency = new Map<string, { id: string }[]>();
  for (const row of rows)
    byCurrency.set(row.currency, [...(byCurrency.get(row.currency) ?? []), row]);
  return [...byCurrency.values()].flatMap((group) =>
    group.slice(1).map((row, i): [string, string] => [group[i]?.id ?? row.id, row.id]),
  );
}

/** Reads with autocannon and, meanwhile, `writesPerSecond` transfers (answers not counted). */
async function measure(
  port: number,
  paths: string[],
  pairs: [string, string][],
  duration: number,
): Promise<Run> {
  let i = 0;
  let w = 0;
  const writer = setInterval(() => {
    const [from, to] = pairs[w++ % pairs.length] ?? ["", ""];
    // A 422 (insufficient funds) still ran the transaction; it just moved nothing.
    void fetch(`http://127.0.0.1:${port}/transfers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ fromAccountId: from, toAccountId: to, amount: 1 }),
    }).then(
      (r) => r.arrayBuffer(),
      () => undefined,
    );
  }, 1000 / writesPerSecond);
  try {
    const result = await autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      duration,
      requests: [
        {
          method: "GET",
          setupRequest: (request) => ({ ...request, path: paths[i++ % paths.length] }),
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
  } finally {
    clearInterval(writer);
  }
}

/** `cache_requests_total` by result, summed over kinds, from the server's /metrics. */
async function cacheRequests(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const totals: Record<string, number> = {};
  for (const match of text.matchAll(/^cache_requests_total\{[^}]*result="(\w+)"[^}]*\} (\S+)$/gm)) {
    const [, result = "", value = "0"] = match;
    totals[result] = (totals[result] ?? 0) + Number(value);
  }
  return totals;
}

async function deleteKeys(pattern: string) {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } catch (error) {
    console.error(`could not delete the bench's Redis keys (${pattern}):`, error);
  } finally {
    redis.disconnect();
  }
}

await main();
