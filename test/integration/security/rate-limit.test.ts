/**
 * Per-client rate limiting on the real HTTP listener (the client is the connection's address, or
 * the bearer token): 429 problem+json with Retry-After once a client's burst is spent, served
 * again after waiting; off with RATE_LIMIT=off.
 */
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig, type SecurityConfig } from "../../../src/env.js";
import type { SecurityEvent } from "../../../src/security/events.js";
import { captureLogs, createTestApp, listen } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const TOKEN = "rate-token-0123456789abcdef0123456789";
const testDb = useTestDatabase();
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/**
 * A fresh app (so a fresh limiter) on a real listener, with small limits: a burst of 3 and one
 * more request every 10 s, so that no refill comes between a test's requests on a busy machine.
 */
async function serveWith(security: Partial<SecurityConfig> = {}) {
  const logs = captureLogs();
  const events: SecurityEvent[] = [];
  const { app } = createTestApp(testDb.database, logs, {
    security: {
      apiTokens: [TOKEN],
      rateLimit: { requestsPerSecond: 0.1, burst: 3, maxClients: 100 },
      ...security,
    },
    onSecurityEvent: (event) => events.push(event),
  });
  const server = await listen(app);
  servers.push(server);
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(server.url + path, { headers });
    return { status: res.status, headers: res.headers, body: await res.json() };
  };
  return { url: server.url, get, logs: logs.lines, events };
}

const statuses = async (count: number, request: () => Promise<{ status: number }>) => {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push((await request()).status);
  return seen;
};

describe("the rate limit", () => {
  it("answers 429 problem+json with Retry-After after the burst", async () => {
    const { get } = await serveWith();
    expect(await statuses(3, () => get("/users?limit=1"))).toEqual([200, 200, 200]);
    const limited = await get("/users?limit=1");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(9);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(10);
    expect(limited.headers.get("x-request-id")).toBeTruthy();
    expect(limited.body).toMatchObject({
      type: "/problems/rate-limited",
      title: "Too many requests",
      status: 429,
      code: "rate_limited",
    });
  });

  it("serves a limited client again once it waited Retry-After", async () => {
    const { get } = await serveWith({
      rateLimit: { requestsPerSecond: 2, burst: 3, maxClients: 100 },
    });
    let limited: Awaited<ReturnType<typeof get>> | undefined;
    for (let i = 0; i < 20 && !limited; i++) {
      const res = await get("/stats");
      if (res.status === 429) limited = res;
    }
    const retryAfter = Number(limited?.headers.get("retry-after"));
    expect(retryAfter).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1_000));
    expect((await get("/stats")).status).toBe(200);
  });

  it("counts writes too, before the token check", async () => {
    const { url } = await serveWith();
    const post = () =>
      fetch(`${url}/users`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "nobody@example.com", name: "N" }),
      });
    expect(await statuses(5, post)).toEqual([401, 401, 401, 429, 429]);
  });

  it("gives a token its own budget, and counts an invalid token against the address", async () => {
    const { get } = await serveWith();
    await statuses(3, () => get("/stats"));
    expect((await get("/stats")).status).toBe(429);
    const withToken = () => get("/stats", { authorization: `Bearer ${TOKEN}` });
    expect(await statuses(4, withToken)).toEqual([200, 200, 200, 429]);
    const guessed = { authorization: "Bearer guessed-token-0123456789abcdef012345" };
    expect((await get("/stats", guessed)).status).toBe(429);
  });

  it("leaves /health/* alone, so a busy client can't make the instance look down", async () => {
    const { get } = await serveWith();
    await statuses(4, () => get("/stats"));
    expect(await statuses(10, () => get("/health/live"))).toEqual(Array(10).fill(200));
  });

  it("logs the first refusal of a run once, and reports every one", async () => {
    const { get, logs, events } = await serveWith();
    await statuses(6, () => get("/stats"));
    expect(events).toEqual(["rate_limit.hit", "rate_limit.hit", "rate_limit.hit"]);
    const hits = logs.filter((line) => line.event === "rate_limit.hit");
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ level: 30, client: "127.0.0.1" });
    expect(JSON.stringify(hits)).not.toContain(TOKEN);
  });

  it("ignores X-Forwarded-For unless TRUST_PROXY says a proxy writes it", async () => {
    const spoofed = (i: number) => ({ "x-forwarded-for": `192.0.2.${i}` });
    const direct = await serveWith();
    let i = 0;
    expect(await statuses(4, () => direct.get("/stats", spoofed(i++)))).toEqual([
      200, 200, 200, 429,
    ]);
    const proxied = await serveWith({ trustProxy: 1 });
    expect(await statuses(8, () => proxied.get("/stats", spoofed(i++)))).toEqual(
      Array(8).fill(200),
    );
    expect(await statuses(4, () => proxied.get("/stats", spoofed(1)))).toEqual([
      200, 200, 200, 429,
    ]);
  });

  it("is off with RATE_LIMIT=off", async () => {
    const { security } = parseConfig({ RATE_LIMIT: "off" });
    const { get, events } = await serveWith(security);
    expect(await statuses(30, () => get("/users?limit=1"))).toEqual(Array(30).fill(200));
    expect(events).toEqual([]);
  });
});
