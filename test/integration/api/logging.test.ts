import { AsyncLocalStorage } from "node:async_hooks";
import { testClient } from "hono/testing";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createDatabase, type Database } from "../../../src/db/client.js";
import { parseConfig } from "../../../src/env.js";
import { createApp } from "../../../src/http/app.js";
import { migrateDatabase } from "../../../src/migrator/migrate.js";
import { captureLogs, createTestApp, expectStatus } from "../../setup/app.js";
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
    const { client, lines } = await loggingApp();
    await expectStatus(
      client.users.$post(
        { json: { email: "log-1@example.com", name: "L" } },
        { headers: { "x-request-id": "req-log-1" } },
      ),
      201,
    );
    const mine = lines.filter((line) => line.requestId === "req-log-1");
    const access = mine.find((line) => line.msg === "request completed");
    // The query lines' fields stay on their own lines.
    expect(access).toMatchObject({ method: "POST", route: "/users", status: 201 });
    expect(access).not.toHaveProperty("sql");
    expect(
      mine.some((line) => typeof line.sql === "string" && String(line.sql).includes("insert into")),
    ).toBe(true);
    expect(lines.filter((line) => line.requestId === undefined && line.sql)).toEqual([]);
  });

  it("without propagation, tags the HTTP layer's lines and enters no AsyncLocalStorage", async () => {
    const { lines } = await loggingApp();
    const logs = captureLogs("debug");
    const app = createApp({
      database: opened[opened.length - 1] as Database,
      logger: logs.logger,
      propagateRequestContext: false,
    });
    const client = testClient(app);
    const run = vi.spyOn(AsyncLocalStorage.prototype, "run");
    try {
      const res = client.users.$get(
        { query: { limit: 1 } },
        { headers: { "x-request-id": "req-log-2" } },
      );
      await expectStatus(res, 200);
      expect(run).not.toHaveBeenCalled();
    } finally {
      run.mockRestore();
    }
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ requestId: "req-log-2", msg: "request completed", status: 200 }),
    );
    // The database logs through its own logger: its query line came, without the request id.
    expect(lines.some((line) => typeof line.sql === "string")).toBe(true);
    expect(lines.filter((line) => line.requestId !== undefined)).toEqual([]);
  });

  it("never writes bound parameters or secrets to the log by default", async () => {
    const { client, lines } = await loggingApp();
    const secret = "sk_live_51SECRETtoken@example.com";
    await expectStatus(client.users.$post({ json: { email: secret, name: "S" } }), 201);
    // Logged as a failed query.
    await expectStatus(client.users.$post({ json: { email: secret, name: "S" } }), 409);
    expect(JSON.stringify(lines)).not.toContain("sk_live_51SECRET");
  });
});
