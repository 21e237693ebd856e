import { describe, expect, it } from "vitest";
import { createQueryObserver } from "../../../src/db/query-log.js";
import { captureLogs } from "../../integration/db/helpers.js";

const options = { slowQueryMs: 100, logQueries: true, logParams: false };
const event = {
  sql: "select $1",
  params: ["secret@example.com"],
  operation: "select",
  startedAt: 0,
  durationMs: 3.14678,
  rows: 1 as number | undefined,
  inTransaction: false,
  prepared: false,
};

describe("createQueryObserver", () => {
  it("logs every query at debug with duration and rows, never the values by default", () => {
    const { lines, logger } = captureLogs();
    createQueryObserver(options, logger).query(event);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 20,
        msg: "query",
        durationMs: 3.15,
        rows: 1,
        sql: "select $1",
        paramCount: 1,
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain("secret@example.com");
  });

  it("logs slow queries at warn even when query logging is off", () => {
    const { lines, logger } = captureLogs("info");
    const observer = createQueryObserver({ ...options, logQueries: false }, logger);
    observer.query(event);
    observer.query({ ...event, durationMs: 250 });
    expect(lines).toEqual([expect.objectContaining({ level: 40, msg: "slow query" })]);
  });

  it("names the SQLSTATE of a failed query", () => {
    const { lines, logger } = captureLogs();
    const error = Object.assign(new Error("duplicate key"), { code: "23505" });
    createQueryObserver(options, logger).query({ ...event, rows: undefined, error });
    expect(lines[0]).toMatchObject({ msg: "query failed", sqlstate: "23505" });
  });

  it("logs parameters only when asked, shortened", () => {
    const { lines, logger } = captureLogs();
    createQueryObserver({ ...options, logParams: true }, logger).query({
      ...event,
      sql: `insert ${"x".repeat(3_000)}`,
      params: ["y".repeat(500), 7n, new Uint8Array(3), new Date(0), { a: 1 }, null],
    });
    expect(lines[0]?.params).toEqual([
      `${"y".repeat(200)}… (500 chars)`,
      "7",
      "<3 bytes>",
      "1970-01-01T00:00:00.000Z",
      '{"a":1}',
      null,
    ]);
    expect(String(lines[0]?.sql)).toHaveLength(2_000 + "… (3007 chars)".length);
  });

  it("keeps cumulative counters and a latency histogram", () => {
    const observer = createQueryObserver(options);
    for (const durationMs of [0.5, 3, 3, 120, 9_000]) observer.query({ ...event, durationMs });
    observer.query({ ...event, durationMs: 1, error: new Error("x") });
    const metrics = observer.metrics();
    expect(metrics).toMatchObject({ queries: 6, errors: 1, slow: 2, totalMs: 9127.5 });
    const at = (le: number) => metrics.buckets.find((b) => b.le === le)?.count;
    expect([at(1), at(5), at(250), at(5_000), at(Number.POSITIVE_INFINITY)]).toEqual([
      2, 4, 5, 5, 6,
    ]);
  });
});
