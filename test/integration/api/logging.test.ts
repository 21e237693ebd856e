import { afterAll, describe, expect, it } from "vitest";
import { createDatabase, type Database } from "../../../src/db/client.js";
import { migrateDatabase } from "../../../src/db/migrate.js";
import { parseConfig } from "../../../src/env.js";
import { captureLogs, createTestApp } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const testDb = useTestDatabase();
const opened: Database[] = [];
afterAll(async () => {
  for (const database of opened) await database.close();
});

/** The file's database again, but with query logging on and the captured logger attached. */
async function loggingApp() {
  const logs = captureLogs("debug");
  const config = parseConfig({
    ...(testDb.url ? { DATABASE_URL: testDb.url } : { PGLITE_DATA_DIR: "memory://" }),
    DATABASE_LOG_QUERIES: "true",
  });
  const database = await createDatabase(config.database, { logger: logs.logger });
  opened.push(database);
  if (!testDb.url) await migrateDatabase(database);
  logs.lines.length = 0; // only what requests log from here on
  return { ...createTestApp(database, logs), lines: logs.lines };
}

describe("logging", () => {
  it("tags every line of a request, query log included, with its request id", async () => {
    const { json, lines } = await loggingApp();
    const res = await json(
      "POST",
      "/users",
      { email: "log-1@example.com", name: "L" },
      { "x-request-id": "req-log-1" },
    );
    expect(res.status).toBe(201);
    const mine = lines.filter((line) => line.requestId === "req-log-1");
    expect(mine.some((line) => line.msg === "request completed")).toBe(true);
    expect(
      mine.some((line) => typeof line.sql === "string" && String(line.sql).includes("insert into")),
    ).toBe(true);
    expect(lines.filter((line) => line.requestId === undefined && line.sql)).toEqual([]);
  });

  it("never writes bound parameters or secrets to the log by default", async () => {
    const { json, lines } = await loggingApp();
    const secret = "sk_live_51SECRETtoken@example.com";
    await json("POST", "/users", { email: secret, name: "S" });
    await json("POST", "/users", { email: secret, name: "S" }); // 409, logged as a failed query
    expect(JSON.stringify(lines)).not.toContain("sk_live_51SECRET");
  });
});
