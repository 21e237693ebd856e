import { describe, expect, it } from "vitest";
import {
  formatBytes,
  formatDuration,
  formatPercent,
  formatTable,
  truncateQuery,
} from "../../../src/inspect/format.js";
import type { LockWait } from "../../../src/inspect/queries.js";
import {
  lockTree,
  renderConnections,
  renderLocks,
  renderLong,
} from "../../../src/inspect/render.js";

const wait = (
  blockedPid: number,
  blockingPid: number,
  extra: Partial<LockWait> = {},
): LockWait => ({
  blockedPid,
  blockingPid,
  waitedSeconds: 2.5,
  lock: "ShareLock on transactionid",
  blockedApplication: "api",
  blockedQuery: `update t set v = ${blockedPid}`,
  blockingApplication: "api",
  blockingState: "idle in transaction",
  blockingTransactionSeconds: 75,
  blockingQuery: `update t set v = ${blockingPid}`,
  ...extra,
});

describe("db:inspect formatting", () => {
  it("aligns columns (numbers right), underlines headers and leaves no trailing spaces", () => {
    const text = formatTable(
      [{ header: "pid" }, { header: "waited", align: "right" }, { header: "query" }],
      [
        ["└ 4242", "3.2s", "select 1"],
        ["17", "12m05s", ""],
      ],
    );
    expect(text.split("\n")).toEqual([
      "pid     waited  query",
      "------  ------  --------",
      "└ 4242    3.2s  select 1",
      "17      12m05s",
    ]);
  });

  it("truncates queries to one line with an ellipsis", () => {
    expect(truncateQuery("select *\n  from   users\twhere id = $1", 100)).toBe(
      "select * from users where id = $1",
    );
    expect(truncateQuery("select * from users where id = $1", 12)).toBe("select * fr…");
    expect([...truncateQuery("x".repeat(80), 60)]).toHaveLength(60);
    expect(truncateQuery(null, 10)).toBe("");
  });

  it.each([
    [null, "-"],
    [0.0004, "0ms"],
    [0.25, "250ms"],
    [12.34, "12.3s"],
    [65, "1m05s"],
    [3 * 3600 + 125, "3h02m"],
    [2 * 86_400 + 4 * 3600, "2d04h"],
  ])("duration %s -> %s", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it("sizes as pg_size_pretty names them, ratios as percentages", () => {
    expect(formatBytes(0)).toBe("0 bytes");
    expect(formatBytes(8192)).toBe("8.0 kB");
    expect(formatBytes(1_572_864)).toBe("1.5 MB");
    expect(formatBytes(5 * 1024 ** 3)).toBe("5.0 GB");
    expect(formatPercent(0.99234)).toBe("99.2%");
    expect(formatPercent(null)).toBe("-");
  });
});

describe("db:inspect lock tree", () => {
  it("puts each waiter under the session it waits on, down the chain", () => {
    const rows = lockTree([wait(30, 20), wait(20, 10), wait(40, 10)]);
    expect(rows.map((row) => [row.pid, row.depth, row.wait?.blockingPid])).toEqual([
      [10, 0, undefined],
      [20, 1, 10],
      [30, 2, 20],
      [40, 1, 10],
    ]);
  });

  it("shows a session waiting on two others under both", () => {
    const rows = lockTree([wait(30, 10), wait(30, 20)]);
    expect(rows.map((row) => [row.pid, row.depth])).toEqual([
      [10, 0],
      [30, 1],
      [20, 0],
      [30, 1],
    ]);
  });

  it("ends a cycle (a deadlock not yet broken) instead of looping", () => {
    const rows = lockTree([wait(10, 20), wait(20, 10)]);
    expect(rows.map((row) => [row.pid, row.depth, row.repeated])).toEqual([
      [10, 0, false],
      [20, 1, false],
      [10, 2, true],
    ]);
  });

  it("renders both queries, who blocks whom and for how long", () => {
    const lines = renderLocks([wait(4243, 4242)]).split("\n");
    expect(lines[0]).toBe("1 session(s) waiting on a lock");
    expect(lines[2]).toMatch(/^pid\s+blocked by\s+waited\s+lock\s+application\s+state\s+query$/);
    expect(lines[4]).toMatch(
      /^4242\s+-\s+-\s+-\s+api\s+idle in transaction \(transaction 1m15s\)\s+update t set v = 4242$/,
    );
    expect(lines[5]).toMatch(
      /^└ 4243\s+4242\s+2\.5s\s+ShareLock on transactionid\s+api\s+waiting\s+update t set v = 4243$/,
    );
    expect(renderLocks([])).toBe("no session in this database is waiting on a lock");
  });
});

describe("db:inspect reports", () => {
  it("connections: the budget left and one row per group", () => {
    const text = renderConnections({
      total: 12,
      maxConnections: 100,
      superuserReservedConnections: 3,
      groups: [
        {
          database: "app",
          application: "api",
          state: "idle",
          count: 12,
          waitingOnLock: 0,
          longestInStateSeconds: 19.5,
        },
      ],
    });
    expect(text).toContain("12 client connections (besides this one); max_connections 100");
    expect(text).toContain("12.4% of 97 in use");
    expect(text).toMatch(/^app\s+api\s+idle\s+12\s+0\s+19\.5s$/m);
  });

  it("long: the threshold it used, and nothing to show said plainly", () => {
    expect(renderLong([], 5)).toBe("no transaction or query open longer than 5.0s");
    const text = renderLong(
      [
        {
          pid: 7,
          database: "app",
          user: "app",
          application: "api",
          state: "idle in transaction",
          transactionSeconds: 600,
          querySeconds: 599,
          stateSeconds: 599,
          waitEvent: "Client:ClientRead",
          query: "select 1",
        },
      ],
      60,
    );
    expect(text).toMatch(
      /^7\s+app\s+api\s+idle in transaction\s+10m00s\s+9m59s\s+Client:ClientRead\s+select 1$/m,
    );
  });
});
