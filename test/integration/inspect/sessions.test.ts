/**
 * `db:inspect connections | locks | long` against situations the tests create for real: a row
 * lock held in an open transaction with sessions queued behind it, a session idle in
 * transaction, a statement that keeps running.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/env.js";
import { connectForInspection } from "../../../src/inspect/index.js";
import { readLockWaits, readLongSessions } from "../../../src/inspect/queries.js";
import { NEEDS_SERVER, onRealServer } from "../../setup/test-database.js";
import {
  createScratchDatabase,
  onCleanup,
  openSession,
  runInspect,
  type Session,
  unique,
  waitFor,
} from "./helpers.js";

interface LockWaitJson {
  blockedPid: number;
  blockingPid: number;
  waitedSeconds: number;
  lock: string;
  blockedQuery: string;
  blockingState: string;
}

/** True once `pid` shows as waiting on a heavyweight lock. */
const waitingOnLock = (observer: Session, pid: number) => async () => {
  const rows = await observer.sql`
    select 1 from pg_stat_activity where pid = ${pid} and wait_event_type = 'Lock'`;
  return rows.length === 1;
};

function inspector(url: string) {
  const sql = connectForInspection(parseConfig({ DATABASE_URL: url }).database);
  onCleanup(() => sql.end({ timeout: 1 }));
  return sql;
}

describe.skipIf(!onRealServer())(`db:inspect on live sessions (${NEEDS_SERVER})`, () => {
  it("locks shows a real row-lock wait as a tree: waiters under the session holding the row", async () => {
    const db = await createScratchDatabase();
    const id = unique();
    const observer = await openSession(db.url, `inspect-observer-${id}`);
    await observer.sql`create table counters (id int primary key, value int not null)`;
    await observer.sql`insert into counters values (1, 0)`;

    const holder = await openSession(db.url, `inspect-holder-${id}`);
    await holder.sql.unsafe("begin");
    await holder.sql`update counters set value = value + 1 where id = 1`;
    const first = await openSession(db.url, `inspect-first-${id}`);
    const firstUpdate = first.sql`update counters set value = value + 2 where id = 1`.execute();
    await waitFor(waitingOnLock(observer, first.pid), "the first waiter");
    // The second queues behind the first, which holds the row's tuple lock while it waits.
    const second = await openSession(db.url, `inspect-second-${id}`);
    const secondUpdate = second.sql`update counters set value = value + 3 where id = 1`.execute();
    await waitFor(waitingOnLock(observer, second.pid), "the second waiter");

    const json = await runInspect(["locks", "--json"], { DATABASE_URL: db.url });
    expect(json.stderr).toBe("");
    expect(json.code).toBe(0);
    const waits = (JSON.parse(json.stdout) as { waits: LockWaitJson[] }).waits;
    const firstWait = waits.find((wait) => wait.blockedPid === first.pid);
    expect(firstWait).toMatchObject({
      blockingPid: holder.pid,
      blockingState: "idle in transaction",
      lock: expect.stringContaining("ShareLock on transactionid"),
      blockedQuery: expect.stringContaining("value + 2"),
    });
    expect(firstWait?.waitedSeconds).toBeGreaterThanOrEqual(0);
    expect(
      waits.filter((wait) => wait.blockedPid === second.pid).map((w) => w.blockingPid),
    ).toContain(first.pid);

    const text = await runInspect(["locks"], { DATABASE_URL: db.url });
    expect(text.code).toBe(0);
    const lines = text.stdout.split("\n");
    const header = lines.find((line) => line.startsWith("pid "));
    const root = lines.find((line) => line.startsWith(`${holder.pid} `));
    const child = lines.find((line) => line.startsWith(`└ ${first.pid} `));
    const grandchild = lines.find((line) => line.startsWith(`  └ ${second.pid} `));
    expect(root).toMatch(/idle in transaction \(transaction [\d.]+(ms|s)\)/);
    expect(root).toContain("update counters set value = value + 1");
    expect(child).toContain("update counters set value = value + 2");
    expect(grandchild).toContain("update counters set value = value + 3");
    // Aligned: the blocking pid sits under the "blocked by" header.
    expect(child?.indexOf(` ${holder.pid} `)).toBe((header?.indexOf("blocked by") ?? 0) - 1);

    await holder.sql.unsafe("commit");
    await Promise.all([firstUpdate, secondUpdate]);
    const after = await readLockWaits(inspector(db.url));
    expect(after.filter((wait) => [first.pid, second.pid].includes(wait.blockedPid))).toEqual([]);
    const [row] = await observer.sql<{ value: number }[]>`select value from counters`;
    expect(row?.value).toBe(6);
  });

  it("long lists an idle-in-transaction session and a running statement past the threshold only", async () => {
    const db = await createScratchDatabase();
    const id = unique();
    const observer = await openSession(db.url, `inspect-observer-${id}`);
    const idle = await openSession(db.url, `inspect-idle-${id}`);
    await idle.sql.unsafe("begin");
    await idle.sql`select 1`;
    const sleeper = await openSession(db.url, `inspect-sleeper-${id}`);
    const sleeping = sleeper.sql`select pg_sleep(60)`.execute().catch((error: unknown) => error);
    await waitFor(async () => {
      const rows = await observer.sql`
        select 1 from pg_stat_activity where pid = ${sleeper.pid} and state = 'active'`;
      return rows.length === 1;
    }, "the sleeping statement");
    await new Promise((resolve) => setTimeout(resolve, 400));

    const result = await runInspect(["long", "--min-seconds", "0.3"], { DATABASE_URL: db.url });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lineOf = (pid: number) => result.stdout.split("\n").find((l) => l.startsWith(`${pid} `));
    expect(lineOf(idle.pid)).toMatch(
      new RegExp(`${db.name}\\s+inspect-idle-${id}\\s+idle in transaction\\s+.*select 1`),
    );
    expect(lineOf(sleeper.pid)).toMatch(
      new RegExp(`inspect-sleeper-${id}\\s+active\\s+.*Timeout:PgSleep\\s+select pg_sleep\\(60\\)`),
    );

    const sql = inspector(db.url);
    const pids = (sessions: { pid: number }[]) => sessions.map((session) => session.pid);
    expect(pids(await readLongSessions(sql, 3600))).not.toContain(idle.pid);
    expect(pids(await readLongSessions(sql, 3600))).not.toContain(sleeper.pid);

    await observer.sql`select pg_cancel_backend(${sleeper.pid})`;
    expect(await sleeping).toMatchObject({ code: "57014" });
  });

  it("connections counts sessions by database, application_name and state", async () => {
    const db = await createScratchDatabase();
    const application = `inspect-pool-${unique()}`;
    await openSession(db.url, application);
    await openSession(db.url, application);
    const inTransaction = await openSession(db.url, application);
    await inTransaction.sql.unsafe("begin");
    await inTransaction.sql`select 1`;

    const result = await runInspect(["connections", "--json"], { DATABASE_URL: db.url });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      server: string;
      total: number;
      maxConnections: number;
      groups: { database: string; application: string; state: string; count: number }[];
    };
    const ours = report.groups
      .filter((group) => group.application === application)
      .map(({ database, state, count }) => ({ database, state, count }))
      .sort((a, b) => a.state.localeCompare(b.state));
    expect(ours).toEqual([
      { database: db.name, state: "idle", count: 2 },
      { database: db.name, state: "idle in transaction", count: 1 },
    ]);
    expect(report.total).toBeGreaterThanOrEqual(3);
    expect(report.maxConnections).toBeGreaterThan(0);
    expect(
      report.groups.filter(
        (group) => group.database === db.name && group.application.endsWith(":inspect"),
      ),
    ).toEqual([]);
  });
});
