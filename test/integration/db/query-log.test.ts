import { eq, sql } from "drizzle-orm";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { bulkInsert } from "../../../src/db/bulk.js";
import type { Database } from "../../../src/db/client.js";
import { users } from "../../../src/db/schema/index.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { captureLogs, useDatabaseOn, usePglite, userRows } from "./helpers.js";

const LOGGING = { DATABASE_LOG_QUERIES: "true", DATABASE_SLOW_QUERY_MS: "100" };
const SECRET = "sk_live_51QuErYLoGsEcReT";

const testDb = useTestDatabase();
const serverLogs = captureLogs();
const server = useDatabaseOn(() => testDb.url, LOGGING, serverLogs.logger);
const serverParamLogs = captureLogs();
const serverWithParams = useDatabaseOn(
  () => testDb.url,
  { ...LOGGING, DATABASE_LOG_PARAMS: "true" },
  serverParamLogs.logger,
);
const pgliteLogs = captureLogs();
const pglite = usePglite(LOGGING, pgliteLogs.logger);
const pgliteParamLogs = captureLogs();
const pgliteWithParams = usePglite(
  { ...LOGGING, DATABASE_LOG_PARAMS: "true" },
  pgliteParamLogs.logger,
);

type Logs = ReturnType<typeof captureLogs>;

function logContract(
  database: () => Database,
  logs: Logs,
  withParams: () => Database,
  paramLogs: Logs,
  sleepSql: string,
) {
  /** Lines logged while `work` ran. */
  async function linesOf(target: Logs, work: () => Promise<unknown>) {
    const from = target.lines.length;
    await work();
    return { lines: target.lines.slice(from), raw: target.raw.slice(from).join("\n") };
  }

  it("logs each query at debug with duration and row count, parameters redacted", async () => {
    const { db } = database();
    const { lines, raw } = await linesOf(logs, () =>
      db.select().from(users).where(eq(users.email, SECRET)),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 20,
        msg: "query",
        rows: 0,
        paramCount: 1,
        durationMs: expect.any(Number),
        sql: expect.stringContaining('from "users" where "users"."email" = $1'),
      }),
    );
    expect(raw).not.toContain(SECRET);
  });

  it("logs a failed query with its SQLSTATE and without its values", async () => {
    const { db } = database();
    const [row] = userRows(1, "log-dup").map((u) => ({ ...u, name: SECRET }));
    await db.insert(users).values(row as typeof users.$inferInsert);
    const { lines, raw } = await linesOf(logs, () =>
      db
        .insert(users)
        .values(row as typeof users.$inferInsert)
        .catch(() => undefined),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: "query failed", sqlstate: "23505" }),
    );
    expect(raw).not.toContain(SECRET);
    expect(raw).not.toContain(row?.email);
  });

  it("logs a slow query at warn", async () => {
    const { db } = database();
    const { lines } = await linesOf(logs, () => db.execute(sql.raw(sleepSql)));
    const slow = lines.find((line) => line.msg === "slow query");
    expect(slow).toMatchObject({ level: 40, sql: sleepSql });
    expect(slow?.durationMs).toBeGreaterThanOrEqual(100);
  });

  it("logs the queries inside transactions and COPY, with COPY's row count", async () => {
    const { db } = database();
    const { lines } = await linesOf(logs, () =>
      withTransaction(db, async (tx) => {
        await tx.select().from(users).limit(3);
        await bulkInsert(tx, users, userRows(1_500, "log-copy"), { method: "copy" });
      }),
    );
    // Either line: on a loaded machine the COPY can cross the slow-query threshold.
    const logged = expect.stringMatching(/^(slow )?query$/);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: logged, sql: expect.stringContaining("limit $1") }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: logged, rows: 1_500, sql: expect.stringMatching(/^copy /) }),
    );
  });

  it("logs parameter values only when DATABASE_LOG_PARAMS=true, truncated", async () => {
    const { db } = withParams();
    const long = "p".repeat(1_000);
    const { lines } = await linesOf(paramLogs, () =>
      db.select().from(users).where(eq(users.email, long)),
    );
    const line = lines.find((l) => String(l.sql).includes('"users"."email" = $1'));
    expect(line?.params).toEqual([`${"p".repeat(200)}… (1000 chars)`]);
  });

  it("counts every query in the metrics", async () => {
    const database_ = database();
    const before = database_.queryMetrics();
    await database_.db.select().from(users).limit(1);
    await database_.db.execute(sql`select 1/0`).catch(() => undefined);
    const after = database_.queryMetrics();
    expect(after.queries - before.queries).toBe(2);
    expect(after.errors - before.errors).toBe(1);
    expect(after.buckets.at(-1)?.count).toBe(after.queries);
    expect(after.buckets.map((b) => b.count)).toEqual(
      [...after.buckets.map((b) => b.count)].sort((a, b) => a - b),
    );
  });
}

describe("query log on embedded PGlite", () => {
  // PGlite has no pg_sleep worth the name in a single process: a slow CTE instead.
  logContract(
    pglite,
    pgliteLogs,
    pgliteWithParams,
    pgliteParamLogs,
    "select count(*) from generate_series(1, 3000000)",
  );
});

describe.skipIf(!onRealServer())(`query log on postgres.js (${NEEDS_SERVER})`, () => {
  logContract(server, serverLogs, serverWithParams, serverParamLogs, "select pg_sleep(0.15)");

  // (On PGlite, Drizzle sends SAVEPOINT/RELEASE itself, through the counted query methods.)
  it("counts the caller's statements only: no BEGIN, COMMIT, SAVEPOINT or health check", async () => {
    const database_ = server();
    const before = database_.queryMetrics().queries;
    await database_.ping();
    await database_.db.transaction(async (tx) => {
      await tx.select().from(users).limit(1);
      await tx.transaction(async (savepoint) => {
        await savepoint.select().from(users).limit(1);
      });
      await tx
        .transaction(async (savepoint) => {
          await savepoint.select().from(users).limit(1);
          throw new Error("roll back to the savepoint");
        })
        .catch(() => undefined);
    });
    await database_.db
      .transaction(async (tx) => {
        await tx.select().from(users).limit(1);
        throw new Error("roll back");
      })
      .catch(() => undefined);
    expect(database_.queryMetrics().queries - before).toBe(4);
  });

  it("leaves database.sql, the raw pool, as postgres.js made it: not counted", async () => {
    const { sql: client, queryMetrics } = server();
    if (!client) throw new Error("postgres.js database without its pool");
    const before = queryMetrics().queries;
    await client`select 1`;
    await client.unsafe("select $1::int", [1]);
    for await (const _ of client`select generate_series(1, 3)`.cursor(2)) {
      // two batches of one cursor
    }
    expect(queryMetrics().queries - before).toBe(0);
  });

  it("leaves another postgres.js client of the process alone", async () => {
    const { queryMetrics } = server();
    const other = postgres(testDb.url ?? "", { max: 1, onnotice: () => undefined });
    try {
      const before = queryMetrics().queries;
      const [row] = await other.unsafe("select $1::int as n", [7]);
      await other.begin(async (tx) => tx`select 1`);
      expect(row).toEqual({ n: 7 });
      expect(queryMetrics().queries).toBe(before);
    } finally {
      await other.end();
    }
  });
});
