/**
 * The database unreachable: readiness answers 503 quickly instead of hanging, and a request
 * that needs the database gets 503 service_unavailable, not a 500 or a hang.
 */
import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../../src/db/client.js";
import { parseConfig } from "../../../src/env.js";
import { createTestApp, expectStatus } from "../../setup/app.js";

// A port that accepts TCP connections and never answers: the worst case for a health check.
const sockets = new Set<Socket>();
const blackHole = createServer((socket) => sockets.add(socket)).listen(0, "127.0.0.1");
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => blackHole.close(() => resolve()));
});

async function unreachableApp(port: number) {
  const config = parseConfig({
    DATABASE_URL: `postgres://app:secret-pw@127.0.0.1:${port}/app`,
    DATABASE_CONNECT_TIMEOUT: "2",
    DATABASE_POOL_TIMEOUT: "1500",
  });
  const database = await createDatabase(config.database);
  return { database, ...createTestApp(database) };
}

describe("database unavailable", () => {
  it("answers /health/ready with 503 and the checks object within a few seconds", async () => {
    if (!blackHole.listening) await once(blackHole, "listening");
    const { port } = blackHole.address() as { port: number };
    const { database, client } = await unreachableApp(port);
    const started = Date.now();
    const res = await client.health.ready.$get();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await expectStatus(res, 503)).toMatchObject({
      code: "service_unavailable",
      checks: { database: { status: "error" } },
    });
    await expectStatus(client.health.live.$get(), 200);
    await database.close(0);
  });

  it("answers a database-backed request with 503 service_unavailable when nothing listens", async () => {
    const closed = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => closed.once("listening", r));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { database, client } = await unreachableApp(port);
    const res = client.users[":id"].$get({ param: { id: "00000000-0000-4000-8000-000000000000" } });
    const problem = await expectStatus(res, 503);
    expect(problem.code).toBe("service_unavailable");
    expect(JSON.stringify(problem)).not.toContain("secret-pw");
    await database.close(0);
  });
});
