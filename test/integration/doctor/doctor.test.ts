/**
 * `db:doctor` against problems planted for real, one per scratch database: a foreign key
 * without an index, identical indexes, an index nothing uses, a table read by sequential scans
 * over and over, dead rows autovacuum isn't allowed to clean, a session idle in a transaction,
 * a configuration that needs more connections than the server has. And the app's own
 * database, migrated and seeded, on which nothing fails.
 */
import { describe, expect, it } from "vitest";
import { seed } from "../../../seeds/index.js";
import { getUser, listUsers } from "../../../src/db/repositories/users.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { createScratchDatabase, openSession, unique } from "../inspect/helpers.js";
import { doctorOn, eventually, findingOf, flushStatistics, plantTable } from "./helpers.js";

const appDb = useTestDatabase();

/** A scratch database and a session on it to plant with, closed after the test. */
async function scratch() {
  const db = await createScratchDatabase();
  const session = await openSession(db.url, `doctor-planter-${unique()}`);
  return { url: db.url, sql: session.sql };
}

describe.skipIf(!onRealServer())(`db:doctor on planted problems (${NEEDS_SERVER})`, () => {
  it("fails nothing on the app's database, migrated, seeded and queried", async () => {
    await seed(appDb.db);
    const page = await listUsers(appDb.db, { limit: 20 });
    await getUser(appDb.db, page.items[0]?.id ?? "");
    const url = appDb.url;
    if (!url) throw new Error("no URL");
    const report = await doctorOn(url);
    expect(report.findings.filter((f) => f.verdict === "fail")).toEqual([]);
    expect(report.findings.map((f) => f.check)).toEqual([
      "foreign keys",
      "duplicate indexes",
      "redundant indexes",
      "unused indexes",
      "sequential scans",
      "dead rows",
      "cache hit ratio",
      "long transactions",
      "connection budget",
      "statement timeout",
      "idle-in-tx timeout",
      "pool timeouts",
      "tls",
      "top queries",
    ]);
    expect(findingOf(report, "foreign keys")).toMatchObject({
      verdict: "ok",
      summary: "every foreign key (3) has a supporting index",
    });
  });

  it("fails a foreign key without a supporting index, naming the index to create", async () => {
    const { url, sql } = await scratch();
    await sql`create table planted_parent (id int primary key)`;
    await sql`create table planted_child (id int primary key, parent_id int not null references planted_parent)`;
    await sql`create table planted_indexed (id int primary key, parent_id int not null references planted_parent)`;
    await sql`create index on planted_indexed (parent_id, id)`;
    const finding = findingOf(await doctorOn(url), "foreign keys");
    expect(finding).toMatchObject({
      verdict: "fail",
      summary: expect.stringMatching(/^1 of 2 without a supporting index/),
    });
    expect(finding.details).toHaveLength(1);
    expect(finding.details[0]).toContain("planted_child (parent_id) -> planted_parent");
    expect(finding.details[0]).toContain("create index concurrently on planted_child (parent_id)");
  });

  it("fails identical indexes", async () => {
    const { url, sql } = await scratch();
    await plantTable(sql, "planted_orders", 1_000);
    await sql`create index planted_orders_v on planted_orders (v)`;
    await sql`create index planted_orders_v_again on planted_orders (v)`;
    await sql`create index planted_orders_v_open on planted_orders (v) where v > 500`;
    const finding = findingOf(await doctorOn(url), "duplicate indexes");
    expect(finding.verdict).toBe("fail");
    expect(finding.details).toEqual([
      expect.stringMatching(
        /^planted_orders: planted_orders_v = planted_orders_v_again \(.+ each\) {2}fix: drop index concurrently planted_orders_v_again$/,
      ),
    ]);
  });

  it("warns about an index nothing has used on a large table", async () => {
    const { url, sql } = await scratch();
    await plantTable(sql, "planted_events", 20_000);
    await sql`create index planted_events_v on planted_events (v)`;
    await flushStatistics(sql);
    const finding = await eventually(url, "unused indexes", (f) => f.verdict !== "ok");
    expect(finding).toMatchObject({ verdict: "warn" });
    expect(finding.details).toEqual([
      expect.stringMatching(/^planted_events: planted_events_v \(.+, table 20,000 rows\)$/),
    ]);
  });

  it("warns about a large table read by sequential scans again and again", async () => {
    const { url, sql } = await scratch();
    await plantTable(sql, "planted_log", 20_000);
    for (let i = 0; i < 120; i++) await sql`select count(*) from planted_log where v = ${i}`;
    await flushStatistics(sql);
    const finding = await eventually(url, "sequential scans", (f) => f.verdict !== "ok");
    expect(finding).toMatchObject({ verdict: "warn" });
    // 120 or a little more: autovacuum may have had a look at the new table too.
    const [detail = "", scans = "0"] =
      /^planted_log: (\d+) sequential vs 0 index scans, .* rows read per scan \(20,000 rows\)$/.exec(
        finding.details[0] ?? "",
      ) ?? [];
    expect(finding.details).toEqual([detail]);
    expect(Number(scans)).toBeGreaterThanOrEqual(120);
  });

  it("warns about a table half made of dead rows", async () => {
    const { url, sql } = await scratch();
    await plantTable(sql, "planted_balances", 20_000, { autovacuum: false });
    await sql`update planted_balances set v = v + 1`;
    await flushStatistics(sql);
    const finding = await eventually(url, "dead rows", (f) => f.verdict !== "ok");
    expect(finding).toMatchObject({ verdict: "warn" });
    expect(finding.details).toEqual([
      "planted_balances: 20,000 dead of 40,000 (50.0%), last vacuumed never",
    ]);
  });

  it("fails a session idle in a transaction longer than the limit", async () => {
    const { url } = await scratch();
    const application = `doctor-idle-${unique()}`;
    const idle = await openSession(url, application);
    await idle.sql.unsafe("begin");
    await idle.sql`select 1 as "still holding"`;
    // Older than the doctor's limit below (0.5 s) by the time it looks.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const finding = findingOf(await doctorOn(url, { longSeconds: 0.5 }), "long transactions");
    expect(finding).toMatchObject({
      verdict: "fail",
      summary: expect.stringContaining("1 idle in transaction"),
    });
    expect(finding.details).toEqual([
      expect.stringMatching(
        new RegExp(
          `^pid ${idle.pid} ${application} idle in transaction for .*: select 1 as "still holding"$`,
        ),
      ),
    ]);
  });

  it("lists top queries where pg_stat_statements works, and says why where it doesn't", async () => {
    const { url, sql } = await scratch();
    const [server] = await sql<{ preloaded: boolean }[]>`
      select 'pg_stat_statements' = any(
        string_to_array(current_setting('shared_preload_libraries'), ', ')) as preloaded`;
    await sql`create extension if not exists pg_stat_statements`;
    const finding = findingOf(await doctorOn(url), "top queries");
    if (server?.preloaded) {
      expect(finding).toMatchObject({ verdict: "ok", metrics: { statements: expect.any(Number) } });
      expect(finding.metrics?.statements).toBeGreaterThan(0);
      return;
    }
    // Installed but not loaded: the view exists and refuses to be read.
    expect(finding).toEqual({
      check: "top queries",
      verdict: "skip",
      summary:
        "not available: pg_stat_statements is installed but not loaded: add it to " +
        "shared_preload_libraries and restart the server",
      details: [],
    });
  });

  it("fails a configuration that needs more connections than the server allows", async () => {
    const { url } = await scratch();
    const fits = findingOf(await doctorOn(url, { instances: 1 }), "connection budget");
    expect(fits.verdict).toBe("ok");
    const [row] = await (await openSession(url, `doctor-max-${unique()}`)).sql<{ max: number }[]>`
      select current_setting('max_connections')::int as max`;
    // Enough instances of a 10-connection pool to need more than max_connections.
    const instances = Math.ceil((row?.max ?? 100) / 10) + 1;
    const finding = findingOf(await doctorOn(url, { instances }), "connection budget");
    expect(finding).toMatchObject({
      verdict: "fail",
      summary: expect.stringContaining(`${instances} instance(s) × (10 pool + 1 metrics)`),
    });
  });
});
