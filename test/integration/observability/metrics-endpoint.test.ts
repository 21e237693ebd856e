/**
 * `GET /metrics` on the real app: HTTP series stay bounded whatever URLs clients send, and the
 * token is enforced with problem+json answers.
 */
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/env.js";
import { createApp } from "../../../src/http/app.js";
import { createObservability, type Observability } from "../../../src/observability/index.js";
import { METRICS } from "../../../src/observability/metric-names.js";
import { createMetrics, type Metrics } from "../../../src/observability/metrics.js";
import { captureLogs } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";
import { parseMetrics, sampleValue, seriesOf } from "./helpers.js";

const testDb = useTestDatabase();
const TOKEN = "scrape-0123456789-abcdef";

const closing: (Metrics | Observability)[] = [];
afterAll(async () => {
  for (const item of closing) await item.close();
});

function app(metricsToken?: string) {
  const logs = captureLogs();
  const metrics = createMetrics({
    database: testDb.database,
    config: parseConfig({ NODE_ENV: "test" }),
    logger: logs.logger,
    serverStats: false,
    migrations: async () => ({ applied: 0, pending: 0, lastAppliedAt: undefined }),
  });
  closing.push(metrics);
  return createApp({
    database: testDb.database,
    logger: logs.logger,
    observability: { metrics, metricsToken },
  });
}

const scrape = async (hono: ReturnType<typeof app>, headers: Record<string, string> = {}) =>
  parseMetrics(await (await hono.request("/metrics", { headers })).text());

describe("HTTP metrics", () => {
  it("keeps one series per route template: 1,000 ids and 1,000 unknown URLs add none", async () => {
    const hono = app();
    await hono.request(`/users/${randomUUID()}`);
    await hono.request("/no/such/route");
    const before = seriesOf(await scrape(hono), METRICS.httpRequests).length;
    for (let i = 0; i < 1_000; i++) {
      const id = randomUUID();
      const responses = await Promise.all([
        hono.request(`/users/${id}?utm=${i}`),
        hono.request(`/${id}/wp-admin/${i}.php`),
      ]);
      expect(responses.map((r) => r.status)).toEqual([404, 404]);
    }
    const samples = await scrape(hono);
    // The scrape itself was the only new series.
    expect(seriesOf(samples, METRICS.httpRequests).length).toBe(before + 1);
    const requests = (route: string) =>
      sampleValue(samples, METRICS.httpRequests, {
        method: "GET",
        route,
        status_class: "4xx",
      });
    expect(requests("/users/:id")).toBe(1_001);
    expect(requests("unmatched")).toBe(1_001);
    expect(
      sampleValue(samples, `${METRICS.httpRequestDurationSeconds}_count`, {
        method: "GET",
        route: "/users/:id",
      }),
    ).toBe(1_001);
    expect(JSON.stringify(samples)).not.toMatch(/wp-admin|utm/);
  });

  it("labels invented methods `other`", async () => {
    const hono = app();
    await hono.request("/users", { method: "BREW" });
    const samples = await scrape(hono);
    expect(
      sampleValue(samples, METRICS.httpRequests, {
        method: "other",
        route: "unmatched",
        status_class: "4xx",
      }),
    ).toBe(1);
  });
});

describe("GET /metrics access", () => {
  it("is open without a token, in the Prometheus text format", async () => {
    const response = await app().request("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.text()).toContain(`# TYPE ${METRICS.poolWaitingRequests} gauge`);
  });

  it("requires the bearer token when one is configured", async () => {
    const hono = app(TOKEN);
    const ok = await hono.request("/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain(METRICS.buildInfo);
    const lowercase = await hono.request("/metrics", {
      headers: { authorization: `bearer ${TOKEN}` },
    });
    expect(lowercase.status).toBe(200);
  });

  it.each([
    ["no header", undefined, "send the metrics token as Authorization: Bearer <token>"],
    ["another scheme", `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}`, "send"],
    ["a scheme alone", "Bearer", "send"],
    ["two tokens", `Bearer ${TOKEN} ${TOKEN}`, "send"],
    ["an empty token", "Bearer ", "send"],
    ["a wrong token", "Bearer scrape-0123456789-abcdeX", "the metrics token is not valid"],
    ["a prefix of the token", `Bearer ${TOKEN.slice(0, -1)}`, "the metrics token is not valid"],
    ["the token and more", `Bearer ${TOKEN}x`, "the metrics token is not valid"],
  ])("answers 401 problem+json for %s", async (_case, authorization, detail) => {
    const response = await app(TOKEN).request("/metrics", {
      headers: authorization === undefined ? {} : { authorization },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer realm="metrics"/);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: "/problems/unauthorized",
      title: "Unauthorized",
      status: 401,
      code: "unauthorized",
    });
    expect(String(body.detail)).toContain(detail);
    expect(Object.keys(body).sort()).toEqual(["code", "detail", "status", "title", "type"]);
    expect(JSON.stringify(body)).not.toContain(TOKEN.slice(0, 10));
  });

  it("is not served when metrics are off", async () => {
    const hono = createApp({ database: testDb.database, logger: captureLogs().logger });
    expect((await hono.request("/metrics")).status).toBe(404);
  });
});

describe("createObservability", () => {
  const build = async (env: Record<string, string>) => {
    const logs = captureLogs();
    const config = parseConfig({
      ...(testDb.url ? { DATABASE_URL: testDb.url } : { PGLITE_DATA_DIR: "memory://" }),
      ...env,
    });
    const observability = await createObservability({
      config,
      database: testDb.database,
      logger: logs.logger,
    });
    closing.push(observability);
    return { observability, logs: logs.lines };
  };
  const openWarning = (lines: Record<string, unknown>[]) =>
    lines.filter((line) => String(line.msg).startsWith("METRICS_TOKEN is unset"));

  it("warns at start when production serves metrics without a token", async () => {
    expect(openWarning((await build({ NODE_ENV: "production" })).logs)).toHaveLength(1);
    expect(
      openWarning((await build({ NODE_ENV: "production", METRICS_TOKEN: TOKEN })).logs),
    ).toEqual([]);
    expect(openWarning((await build({ NODE_ENV: "development" })).logs)).toEqual([]);
  });

  it("builds nothing that is switched off, and reads migrations at start", async () => {
    const off = await build({ METRICS_ENABLED: "false" });
    expect(off.observability.metrics).toBeUndefined();
    expect(off.observability.tracing).toBeUndefined();
    const on = await build({});
    const samples = parseMetrics((await on.observability.metrics?.render()) ?? "");
    expect(sampleValue(samples, METRICS.migrationsApplied)).toBeGreaterThan(0);
  });
});

describe("security events in /metrics", () => {
  it("counts a write refused for want of a token", async () => {
    const logs = captureLogs();
    const metrics = createMetrics({
      database: testDb.database,
      config: parseConfig({ NODE_ENV: "test" }),
      logger: logs.logger,
      serverStats: false,
      migrations: async () => ({ applied: 0, pending: 0, lastAppliedAt: undefined }),
    });
    closing.push(metrics);
    const hono = createApp({
      database: testDb.database,
      logger: logs.logger,
      observability: { metrics },
      security: { apiTokens: ["t".repeat(40)] },
      onSecurityEvent: (event) => metrics.countSecurityEvent(event),
    });
    const refused = await hono.request("/users", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "nobody@example.com", name: "N" }),
    });
    expect(refused.status).toBe(401);
    const samples = await scrape(hono);
    expect(sampleValue(samples, METRICS.securityEvents, { event: "auth.refused" })).toBe(1);
    expect(sampleValue(samples, METRICS.securityEvents, { event: "rate_limit.hit" })).toBe(0);
  });
});
