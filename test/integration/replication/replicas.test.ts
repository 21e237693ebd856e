/**
 * Read replicas against a real streaming standby (test/setup/replication.ts): reads go to the
 * standby and writes to the primary; a client sees its write in its next request even when the
 * standby has not replayed it (replay paused); lag is measured and exported; a lagging or dead
 * standby leaves the rotation and comes back once healthy.
 */
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed } from "../../../seeds/index.js";
import { createDatabase, type Database } from "../../../src/db/client.js";
import type { QueryEvent } from "../../../src/db/events.js";
import { accounts, users } from "../../../src/db/schema/index.js";
import { parseConfig } from "../../../src/env.js";
import { migrateDatabaseUrl } from "../../../src/migrator/migrate.js";
import { registerReplicaMetrics } from "../../../src/observability/replica-metrics.js";
import { createTestApp, expectStatus } from "../../setup/app.js";
import type { Cluster } from "../../setup/cluster.js";
import {
  replicationUnavailable,
  type Standby,
  startReplicatedPair,
} from "../../setup/replication.js";

const unavailable = replicationUnavailable();
/**
 * Long enough that a standby starved of CPU on a busy 2-core CI machine (the seed's autovacuum
 * keeps the primary writing WAL for a while) doesn't drop out of rotation by itself; the lag
 * test pauses replay for longer than this.
 */
const MAX_LAG_MS = 2_500;

/** What the router knew when a wait ran out, for the failure's message. */
let describeState: () => string = () => "";

/** Polls `check` until it returns true, for up to `timeoutMs`. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${describeState()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.skipIf(unavailable)(`read replicas on a streaming standby ${unavailable ?? ""}`, () => {
  let primary: Cluster;
  let standby: Standby;
  let database: Database;
  let replicaName: string;
  const events: QueryEvent[] = [];

  beforeAll(async () => {
    ({ primary, standby } = await startReplicatedPair());
    const config = parseConfig({
      NODE_ENV: "test",
      DATABASE_URL: primary.url("postgres"),
      DATABASE_REPLICA_URLS: standby.url("postgres"),
      DATABASE_REPLICA_CHECK_MS: "50",
      DATABASE_REPLICA_MAX_LAG_MS: String(MAX_LAG_MS),
      DATABASE_CONNECT_TIMEOUT: "2",
    });
    await migrateDatabaseUrl(config.database);
    database = await createDatabase(config.database);
    await seed(database.db);
    replicaName = `127.0.0.1:${standby.port}`;
    describeState = () => JSON.stringify(database.replicaStats());
    database.listen({ query: (event) => events.push(event) });
    // The seed is a write: the standby serves reads once it has replayed it.
    await until(() => database.replicaStats()?.replicas[0]?.inRotation === true);
  });

  afterAll(async () => {
    await database?.close();
    await standby?.stop();
    await primary?.stop();
  });

  /** Where `work`'s statements ran: the replica's name, or "primary". */
  async function servedBy(work: () => Promise<unknown>): Promise<string[]> {
    const from = events.length;
    await work();
    return events.slice(from).map((event) => event.replica ?? "primary");
  }

  /** Until reads go to the standby: in rotation and past this process's last write. */
  const caughtUp = () =>
    until(async () => {
      const served = await servedBy(() => database.db.select().from(users).limit(1));
      return served[0] === replicaName;
    }, 20_000);

  /** A read that says which server answered it. */
  const inRecovery = async () => {
    const rows = await database.db.execute("select pg_is_in_recovery() as standby");
    return (rows as unknown as { standby: boolean }[])[0]?.standby;
  };

  it("sends selects to the standby and writes and transactions to the primary", async () => {
    await caughtUp();
    expect(await servedBy(() => database.db.select().from(users).limit(1))).toEqual([replicaName]);
    expect(await servedBy(() => database.db.$count(accounts))).toEqual([replicaName]);
    expect(
      await servedBy(() => database.db.query.users.findFirst({ columns: { id: true } })),
    ).toEqual([replicaName]);
    // Raw SQL and transactions are the primary's, even when they only read.
    expect(await inRecovery()).toBe(false);
    const inTransaction = await servedBy(() =>
      database.db.transaction((tx) => tx.select().from(users).limit(1)),
    );
    expect(new Set(inTransaction)).toEqual(new Set(["primary"]));
    const stats = database.replicaStats();
    expect(stats?.reads.replica).toBeGreaterThanOrEqual(3);
  });

  it("lets a client read its write at once, although the standby has not replayed it", async () => {
    const { client } = createTestApp(database);
    await until(() => database.replicaStats()?.replicas[0]?.inRotation === true);
    await standby.pauseReplay();
    try {
      for (let i = 0; i < 5; i++) {
        const created = await expectStatus(
          client.users.$post({ json: { email: `ryw-${i}-${Date.now()}@example.com`, name: "R" } }),
          201,
        );
        // The very next request: a replica read would be a 404 (its replay is paused).
        const read = await expectStatus(
          client.users[":id"].$get({ param: { id: created.id } }),
          200,
        );
        expect(read.id).toBe(created.id);
      }
      // The standby never saw those rows: proof that the reads above did not go to it.
      const [row] = await standby.admin(
        (sql) => sql`select count(*)::int as n from users where email like 'ryw-%'`,
      );
      expect(row?.n).toBe(0);
    } finally {
      await standby.resumeReplay();
    }
    await until(() => database.replicaStats()?.replicas[0]?.inRotation === true);
  });

  it("measures and exports lag, takes a lagging standby out and puts it back", async () => {
    const registry = new Registry();
    registerReplicaMetrics(registry, database);
    await until(() => database.replicaStats()?.replicas[0]?.inRotation === true);
    await standby.pauseReplay();
    try {
      // Writes the standby can't replay: the primary moves on without it.
      await database.db.insert(users).values({ email: `lag-${Date.now()}@example.com`, name: "L" });
      await until(() => database.replicaStats()?.replicas[0]?.reason === "lagging");
      const lagging = database.replicaStats()?.replicas[0];
      expect(lagging?.lagSeconds).toBeGreaterThan(MAX_LAG_MS / 1000);
      expect(lagging?.lagBytes).toBeGreaterThan(0);
      const text = await registry.metrics();
      expect(text).toContain(`db_replica_in_rotation{replica="${replicaName}"} 0`);
      expect(text).toMatch(
        new RegExp(`db_replica_lag_seconds\\{replica="${replicaName}"\\} ([3-9]|2\\.[5-9]|\\d\\d)`),
      );
      // Out of rotation: every read is the primary's.
      expect(await servedBy(() => database.db.select().from(users).limit(1))).toEqual(["primary"]);
    } finally {
      await standby.resumeReplay();
    }
    await until(() => database.replicaStats()?.replicas[0]?.inRotation === true);
    const caughtUp = database.replicaStats()?.replicas[0];
    expect(caughtUp?.lagSeconds).toBe(0);
    expect(caughtUp?.lagBytes).toBe(0);
    expect(await registry.metrics()).toContain(
      `db_replica_in_rotation{replica="${replicaName}"} 1`,
    );
    expect(await servedBy(() => database.db.select().from(users).limit(1))).toEqual([replicaName]);
  });

  it("takes a standby that stopped answering out at once, and back once it is up", async () => {
    await caughtUp();
    await standby.kill();
    // Reads keep working: at most the one in flight when it died fails, the rest go to the
    // primary as soon as the failure or the next check has taken the standby out.
    let failed = 0;
    for (let i = 0; i < 20; i++) {
      await database.db
        .select()
        .from(users)
        .limit(1)
        .catch(() => failed++);
    }
    expect(failed).toBeLessThanOrEqual(1);
    expect(database.replicaStats()?.replicas[0]).toMatchObject({
      inRotation: false,
      reason: "unreachable",
    });
    expect(await servedBy(() => database.db.select().from(users).limit(1))).toEqual(["primary"]);

    await standby.start();
    await until(() => database.replicaStats()?.replicas[0]?.inRotation === true, 20_000);
    await caughtUp();
  });
});
