/**
 * Failover: the primary dies, its synchronous standby is promoted, and the service carries on by
 * itself — same app, same `Database`, no restart — because DATABASE_URL lists both servers and
 * postgres.js tries them in turn until one is a primary (libpq's multi-host syntax). Transfers
 * arrive from a few concurrent clients throughout: none that got a 201 is lost, money is
 * conserved, and only the requests caught in the switch fail, with 503.
 *
 * The URL is libpq's textbook one, `postgres://app@host1:port1,host2:port2/db?
 * target_session_attrs=read-write`, with the standby listed first: the app must skip it while the
 * primary lives (postgres.js alone would take it: src/db/config.ts gives it libpq's meaning of
 * read-write), and reach it once promoted.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed } from "../../../seeds/index.js";
import { createDatabase, type Database } from "../../../src/db/client.js";
import { parseConfig } from "../../../src/env.js";
import { migrateDatabaseUrl } from "../../../src/migrator/migrate.js";
import { createTestApp } from "../../setup/app.js";
import type { Cluster } from "../../setup/cluster.js";
import {
  replicationUnavailable,
  type Standby,
  startReplicatedPair,
} from "../../setup/replication.js";

const unavailable = replicationUnavailable();

/** Concurrent clients, each with one request in flight. */
const LOOPS = 4;
/** The app's pool: a connection per client, as each transfer holds one for its transaction. */
const POOL_MAX = LOOPS;
/** Transfers acknowledged before the primary is killed, and by requests sent after it. */
const BEFORE = 60;
const AFTER = 60;
/** A client's pause after a failed request, as a real one would back off before retrying. */
const BACKOFF_MS = 25;
/**
 * Failed requests allowed. A request that arrives while no server is a primary isn't refused:
 * postgres.js keeps trying the hosts until one is, so it waits for the promotion. What fails
 * is what the dying primary was running: one request per client, and at most one more per pooled
 * connection that the pool hands out before it notices the connection is dead. Twice that:
 * anything beyond means requests fail throughout the failover instead of only at its start.
 */
const MAX_FAILED = 2 * (LOOPS + POOL_MAX);

/** Both servers, the standby first; see the module comment. */
const bothHosts = (primary: Cluster, standby: Cluster) =>
  `postgres://postgres@127.0.0.1:${standby.port},127.0.0.1:${primary.port}/postgres` +
  "?target_session_attrs=read-write";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, done: () => boolean, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await sleep(10);
  }
}

const totalBalance = (cluster: Cluster) =>
  cluster.admin(async (sql) => {
    const [row] = await sql<{ total: string }[]>`select sum(balance)::text as total from accounts`;
    return BigInt(row?.total ?? "0");
  });

describe.skipIf(unavailable !== undefined)(`failover to a standby ${unavailable ?? ""}`, () => {
  let pair: { primary: Cluster; standby: Standby } | undefined;
  let database: Database | undefined;
  const get = () => {
    if (!pair || !database) throw new Error("beforeAll did not finish");
    return { ...pair, database };
  };

  beforeAll(async () => {
    pair = await startReplicatedPair({ synchronous: true });
    const { primary, standby } = pair;
    const direct = parseConfig({ DATABASE_URL: primary.url("postgres"), NODE_ENV: "test" });
    await migrateDatabaseUrl(direct.database);
    const seeding = await createDatabase(direct.database);
    try {
      await seed(seeding.db, { users: 40, transfers: 100 });
    } finally {
      await seeding.close();
    }
    const config = parseConfig({
      DATABASE_URL: bothHosts(primary, standby),
      NODE_ENV: "test",
      DATABASE_POOL_MAX: String(POOL_MAX),
      DATABASE_CONNECT_TIMEOUT: "2",
    });
    database = await createDatabase(config.database);
  });

  afterAll(async () => {
    await database?.close(1);
    await pair?.standby.stop();
    await pair?.primary.stop();
  });

  it("keeps serving transfers, and loses none it acknowledged", async () => {
    const { primary, standby, database } = get();
    const { raw } = createTestApp(database);
    // Pairs of accounts in one currency, funded for many more 1-cent transfers than are sent.
    const accounts = await primary.admin(
      (sql) => sql<{ id: string; currency: string }[]>`
      select id, currency from accounts where balance >= 1000 order by currency, id`,
    );
    const pairs: [string, string][] = [];
    for (let i = 0; i + 1 < accounts.length; i += 2) {
      const [a, b] = [accounts[i], accounts[i + 1]];
      if (a && b && a.currency === b.currency) pairs.push([a.id, b.id]);
    }
    expect(pairs.length).toBeGreaterThanOrEqual(LOOPS);
    const before = await totalBalance(primary);

    const run = randomUUID().slice(0, 8);
    const acknowledged: string[] = [];
    const failures: string[] = [];
    let sent = 0;
    /** When the primary was gone: a request sent from then on can succeed on the standby only. */
    let diedAt = Number.POSITIVE_INFINITY;
    let recoveredAt: number | undefined;
    let acknowledgedAfterKill = 0;
    let stopping = false;

    const client = async (n: number) => {
      for (let i = 0; !stopping; i++) {
        const [a = "", b = ""] = pairs[(n + i * LOOPS) % pairs.length] ?? [];
        const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
        const startedAt = performance.now();
        sent++;
        const response = await raw(
          "POST",
          "/transfers",
          { fromAccountId: from, toAccountId: to, amount: 1 },
          { "idempotency-key": `failover-${run}-${n}-${i}` },
        );
        if (response.status === 201) {
          acknowledged.push(response.body.id);
          if (startedAt > diedAt) {
            recoveredAt ??= performance.now();
            acknowledgedAfterKill++;
          }
        } else {
          failures.push(`${response.status} ${response.body?.code}`);
          await sleep(BACKOFF_MS);
        }
      }
    };

    const clients = Array.from({ length: LOOPS }, (_, n) => client(n));
    let promoteMs = 0;
    try {
      await until("transfers before the failover", () => acknowledged.length >= BEFORE, 10_000);
      await primary.kill();
      diedAt = performance.now();
      await standby.promote();
      promoteMs = performance.now() - diedAt;
      await until("transfers after the failover", () => acknowledgedAfterKill >= AFTER, 15_000);
    } finally {
      stopping = true;
      await Promise.all(clients);
    }

    const recoveryMs = Math.round((recoveredAt ?? Number.NaN) - diedAt);
    const statuses = [...new Set(failures)].join(", ") || "none";
    console.info(
      `[failover] ${failures.length} of ${sent} requests failed (${statuses}); the first 201 ` +
        `came ${recoveryMs} ms after the primary died (promotion: ${Math.round(promoteMs)} ms)`,
    );
    expect(failures.length).toBeLessThanOrEqual(MAX_FAILED);
    // The database being unreachable is a 503, never a 500 (the contract).
    expect(new Set(failures)).toEqual(new Set(failures.length ? ["503 service_unavailable"] : []));

    const stored = await standby.admin(async (sql) => {
      const [row] = await sql<{ found: number; ours: number }[]>`
      select count(*) filter (where id = any(${acknowledged}::uuid[]))::int as found,
             count(*)::int as ours
      from transfers where idempotency_key like ${`failover-${run}-%`}`;
      return row;
    });
    // Synchronous replication: every commit the primary acknowledged was on the standby.
    expect(stored?.found).toBe(acknowledged.length);
    // A failed request stored at most one transfer (its commit happened, its answer was lost).
    expect(stored?.ours).toBeLessThanOrEqual(acknowledged.length + failures.length);
    expect(await totalBalance(standby)).toBe(before);
  });
});
