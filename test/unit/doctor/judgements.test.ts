/**
 * The doctor's verdicts on plain objects: thresholds, arithmetic and wording, without a server
 * (test/integration/doctor/ plants the real problems).
 */
import { describe, expect, it } from "vitest";
import {
  judgeCache,
  judgeDeadRows,
  judgeLongSessions,
  judgeSequentialScans,
  judgeTopStatements,
  type TableActivity,
} from "../../../src/doctor/activity.js";
import {
  judgeConnectionBudget,
  judgePoolTimeouts,
  judgeStatementTimeout,
  judgeTls,
  type ServerSettings,
} from "../../../src/doctor/configuration.js";
import {
  type IndexRow,
  judgeDuplicates,
  judgeRedundant,
  judgeUnused,
} from "../../../src/doctor/indexes.js";
import { renderReport, worst } from "../../../src/doctor/report.js";
import { parseConfig } from "../../../src/env.js";
import type { LongSession } from "../../../src/inspect/queries.js";

const config = (env: Record<string, string> = {}) =>
  parseConfig({ DATABASE_URL: "postgres://app@127.0.0.1:5432/app", ...env });

const settings: ServerSettings = {
  version: "PostgreSQL 17.2",
  reservedConnections: 0,
  statementTimeoutMs: 0,
  idleInTransactionTimeoutMs: 0,
  ssl: false,
  tlsVersion: null,
};

const connections = (maxConnections: number, total = 4) => ({
  total,
  maxConnections,
  superuserReservedConnections: 3,
  groups: [],
});

describe("connection budget", () => {
  it("adds instances × (pool + metrics), the migrator and admin sessions", () => {
    const finding = judgeConnectionBudget(config(), 3, connections(100), settings);
    expect(finding.verdict).toBe("ok");
    expect(finding.summary).toContain(
      "3 instance(s) × (10 pool + 1 metrics) + 1 migrator + 3 admin = 37 of 97 usable",
    );
    expect(finding.details[0]).toBe(
      "max_connections 100 − 3 reserved = 97; open now: 5 (this one included)",
    );
  });

  it("warns above 80% of the usable connections and fails above 100%", () => {
    expect(judgeConnectionBudget(config(), 6, connections(100), settings).verdict).toBe("ok");
    expect(judgeConnectionBudget(config(), 8, connections(100), settings).verdict).toBe("warn");
    expect(judgeConnectionBudget(config(), 9, connections(100), settings).verdict).toBe("fail");
    // Without the metrics scrape's connection, and with PostgreSQL 16's reserved slots.
    const lean = config({ METRICS_DB_STATS: "false", DATABASE_POOL_MAX: "20" });
    const finding = judgeConnectionBudget(lean, 4, connections(100), {
      ...settings,
      reservedConnections: 10,
    });
    expect(finding.summary).toContain(
      "4 instance(s) × (20 pool) + 1 migrator + 3 admin = 84 of 87",
    );
    expect(finding.verdict).toBe("warn");
  });
});

describe("timeouts and TLS", () => {
  it("wants a statement timeout from the app or the server", () => {
    expect(judgeStatementTimeout(config(), settings)).toMatchObject({
      verdict: "ok",
      summary: "30.0s per statement (DATABASE_STATEMENT_TIMEOUT)",
    });
    const off = config({ DATABASE_STATEMENT_TIMEOUT: "0" });
    expect(judgeStatementTimeout(off, { ...settings, statementTimeoutMs: 15_000 })).toMatchObject({
      verdict: "ok",
      summary: expect.stringContaining("15.0s from the role, database or server"),
    });
    expect(judgeStatementTimeout(off, settings).verdict).toBe("warn");
  });

  it("warns about connections that are never recycled", () => {
    expect(judgePoolTimeouts(config()).verdict).toBe("ok");
    expect(judgePoolTimeouts(config({ DATABASE_MAX_LIFETIME: "0" }))).toMatchObject({
      verdict: "warn",
      summary: expect.stringContaining("lifetime unlimited"),
    });
  });

  it("judges the TLS mode by where the server is", () => {
    const remote = "postgres://app@db.internal:5432/app";
    expect(judgeTls(config(), settings)).toMatchObject({ verdict: "ok" });
    expect(judgeTls(config({ DATABASE_URL: remote }), settings)).toMatchObject({
      verdict: "warn",
      summary: expect.stringContaining("clear text"),
    });
    expect(
      judgeTls(config({ DATABASE_URL: remote, DATABASE_SSL: "require" }), settings),
    ).toMatchObject({ verdict: "warn", summary: expect.stringContaining("use verify-full") });
    const verified = judgeTls(config({ DATABASE_URL: remote, DATABASE_SSL: "verify-full" }), {
      ...settings,
      ssl: true,
      tlsVersion: "TLSv1.3",
    });
    expect(verified).toMatchObject({ verdict: "ok", summary: expect.stringContaining("TLSv1.3") });
  });
});

const index = (overrides: Partial<IndexRow>): IndexRow => ({
  table: "orders",
  index: "orders_idx",
  unique: false,
  primary: false,
  backsConstraint: false,
  supportsForeignKey: false,
  valid: true,
  key: "2",
  opclasses: "1978",
  collations: "0",
  method: "btree",
  expressions: "",
  predicate: "",
  scans: 5,
  bytes: 16_384,
  tableRows: 50_000,
  ...overrides,
});

describe("index checks", () => {
  it("fails identical indexes and names the copies to drop, keeping a constraint's", () => {
    const finding = judgeDuplicates([
      index({ index: "orders_a" }),
      index({ index: "orders_pkey", backsConstraint: true, unique: true }),
      index({ index: "orders_partial", predicate: "(status = 'open'::text)" }),
      index({ index: "orders_other", key: "3" }),
    ]);
    expect(finding.verdict).toBe("fail");
    expect(finding.details).toEqual([
      "orders: orders_a = orders_pkey (16.0 kB each)  fix: drop index concurrently orders_a",
    ]);
    expect(judgeDuplicates([index({})]).verdict).toBe("ok");
  });

  it("warns about a plain index that leads a longer one, and only then", () => {
    const finding = judgeRedundant([
      index({ index: "orders_customer", key: "2" }),
      index({ index: "orders_customer_created", key: "2 5", opclasses: "1978 3128" }),
      index({ index: "orders_unique_2", key: "2", unique: true }),
      index({ index: "orders_20", key: "20" }),
    ]);
    expect(finding.verdict).toBe("warn");
    expect(finding.details).toEqual([
      "orders: orders_customer (16.0 kB) leads orders_customer_created",
    ]);
    expect(judgeRedundant([index({ key: "1" }), index({ key: "2 1" })]).verdict).toBe("ok");
  });

  it("reports unused indexes only where dropping one is safe and worth it", () => {
    const finding = judgeUnused(
      [
        index({ index: "orders_unused", scans: 0 }),
        index({ index: "orders_used", scans: 3 }),
        index({ index: "orders_fk", scans: 0, supportsForeignKey: true }),
        index({ index: "orders_pkey", scans: 0, unique: true, backsConstraint: true }),
        index({ index: "tiny_unused", scans: 0, tableRows: 500 }),
      ],
      "since the statistics began",
    );
    expect(finding.verdict).toBe("warn");
    expect(finding.details).toEqual(["orders: orders_unused (16.0 kB, table 50,000 rows)"]);
  });
});

const table = (overrides: Partial<TableActivity>): TableActivity => ({
  table: "events",
  seqScans: 0,
  seqRowsRead: 0,
  indexScans: 0,
  liveRows: 50_000,
  deadRows: 0,
  lastVacuum: null,
  ...overrides,
});

describe("activity checks", () => {
  it("warns about large tables read mostly by sequential scans", () => {
    const heavy = table({ seqScans: 400, seqRowsRead: 20_000_000, indexScans: 10 });
    expect(judgeSequentialScans([heavy])).toMatchObject({
      verdict: "warn",
      details: [
        "events: 400 sequential vs 10 index scans, 50,000 rows read per scan (50,000 rows)",
      ],
    });
    expect(judgeSequentialScans([{ ...heavy, liveRows: 900 }]).verdict).toBe("ok");
    expect(judgeSequentialScans([{ ...heavy, indexScans: 5_000 }]).verdict).toBe("ok");
  });

  it("warns from 20% dead rows, given at least a thousand", () => {
    expect(judgeDeadRows([table({ liveRows: 10_000, deadRows: 10_000 })]).details[0]).toContain(
      "10,000 dead of 20,000 (50.0%), last vacuumed never",
    );
    expect(judgeDeadRows([table({ liveRows: 10, deadRows: 90 })]).verdict).toBe("ok");
    expect(judgeDeadRows([table({ liveRows: 100_000, deadRows: 5_000 })]).verdict).toBe("ok");
  });

  it("judges the cache hit ratio once there were enough reads", () => {
    const cache = { tableHitRatio: 0.7, indexHitRatio: 0.999, tables: [], indexes: [] };
    expect(judgeCache(cache, 500).verdict).toBe("ok");
    expect(judgeCache(cache, 50_000).verdict).toBe("fail");
    expect(judgeCache({ ...cache, tableHitRatio: 0.95 }, 50_000).verdict).toBe("warn");
    expect(judgeCache({ ...cache, tableHitRatio: 0.995 }, 50_000).verdict).toBe("ok");
  });

  it("fails a session idle in transaction, warns about a long statement", () => {
    const session: LongSession = {
      pid: 42,
      database: "app",
      user: "app",
      application: "worker",
      state: "active",
      transactionSeconds: 90,
      querySeconds: 90,
      stateSeconds: 90,
      waitEvent: null,
      query: "select pg_sleep(600)",
    };
    expect(judgeLongSessions([session], 60).verdict).toBe("warn");
    const idle = { ...session, state: "idle in transaction", query: "update accounts set x = 1" };
    expect(judgeLongSessions([session, idle], 60)).toMatchObject({
      verdict: "fail",
      summary: expect.stringContaining("1 idle in transaction"),
    });
    expect(judgeLongSessions([], 60).verdict).toBe("ok");
  });
});

describe("top queries", () => {
  it("lists the statements with the most time and counts them all, or says why it can't", () => {
    const finding = judgeTopStatements(
      [
        {
          queryId: "1",
          calls: 12_000,
          totalMs: 5_400.25,
          meanMs: 0.45,
          rows: 12_000,
          share: 0.6,
          hitRatio: 1,
          query: "select * from users where id = $1",
        },
      ],
      23,
    );
    expect(finding).toEqual({
      check: "top queries",
      verdict: "ok",
      summary: "23 distinct statements recorded; the 1 with the most total time:",
      details: [
        "5,400.3 ms total, 12,000 calls, 0.5 ms mean, 60.0%: select * from users where id = $1",
      ],
      metrics: { statements: 23 },
    });
    expect(judgeTopStatements({ unavailable: "pg_stat_statements is not installed" })).toEqual({
      check: "top queries",
      verdict: "skip",
      summary: "not available: pg_stat_statements is not installed",
      details: [],
    });
  });
});

describe("report", () => {
  it("prints one verdict per line, details indented, and the counts", () => {
    const text = renderReport({
      target: "postgres://app@db/app",
      server: "PostgreSQL 17.2",
      findings: [
        { check: "foreign keys", verdict: "ok", summary: "none", details: [] },
        { check: "dead rows", verdict: "warn", summary: "1 table", details: ["events: 50%"] },
        { check: "top queries", verdict: "skip", summary: "not available: x", details: [] },
      ],
    });
    expect(text.split("\n")).toEqual([
      "db:doctor on postgres://app@db/app (PostgreSQL 17.2)",
      "",
      "ok    foreign keys           none",
      "warn  dead rows              1 table",
      "        events: 50%",
      "skip  top queries            not available: x",
      "",
      "1 ok, 1 warn, 0 fail, 1 skipped",
    ]);
    expect(worst(["ok", "skip", "warn"])).toBe("warn");
    expect(worst(["warn", "fail", "ok"])).toBe("fail");
  });
});
