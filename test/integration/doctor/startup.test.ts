/**
 * The connection budget checked when the server starts: the doctor's arithmetic against the
 * real server's max_connections, logged at error when the configured instances can't all get
 * their pools, and quiet when they can.
 */
import { describe, expect, it } from "vitest";
import { checkConnectionBudgetAtStart } from "../../../src/doctor/startup.js";
import { parseConfig } from "../../../src/env.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { captureLogs } from "../db/helpers.js";

const testDb = useTestDatabase();

const configFor = (instances: string) =>
  parseConfig({ DATABASE_URL: testDb.url ?? "", NODE_ENV: "test", APP_INSTANCES: instances });

describe.skipIf(!onRealServer())(`connection budget at start (${NEEDS_SERVER})`, () => {
  it("logs an error naming the arithmetic when the instances' pools exceed max_connections", async () => {
    const { lines, logger } = captureLogs();
    // 1,000 instances × 10 connections: more than any max_connections a test server has.
    const finding = await checkConnectionBudgetAtStart(testDb.database, configFor("1000"), logger);
    expect(finding?.verdict).toBe("fail");
    const line = lines.find((l) => String(l.msg).startsWith("connection budget"));
    expect(line).toMatchObject({ level: 50, APP_INSTANCES: 1000 });
    expect(String(line?.msg)).toMatch(/1000 instance\(s\) × \(10 pool.*lower DATABASE_POOL_MAX/);
  });

  it("stays quiet (debug) when one instance fits", async () => {
    const { lines, logger } = captureLogs();
    const finding = await checkConnectionBudgetAtStart(testDb.database, configFor("1"), logger);
    expect(finding?.verdict).toBe("ok");
    expect(lines.filter((l) => Number(l.level) >= 40)).toEqual([]);
  });
});

describe("connection budget at start on the embedded database", () => {
  it("is not checked: PGlite has no connection limit", async () => {
    const { logger } = captureLogs();
    const config = parseConfig({ NODE_ENV: "test" });
    const pglite = { ...testDb.database, sql: undefined };
    expect(await checkConnectionBudgetAtStart(pglite, config, logger)).toBeUndefined();
  });
});
