/**
 * Security headers on every kind of response (and /docs keeping its own policy), and CORS for
 * the configured origins only.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECURITY_HEADERS } from "../../../src/security/headers.js";
import { createTestApp, listen } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const TOKEN = "cors-token-0123456789abcdef0123456789";
const ALLOWED = "https://app.example.com";
const testDb = useTestDatabase();
let app: ReturnType<typeof createTestApp>;
let server: Awaited<ReturnType<typeof listen>>;

beforeAll(async () => {
  app = createTestApp(testDb.database, undefined, {
    security: { apiTokens: [TOKEN], corsOrigins: [ALLOWED, "http://localhost:5173"] },
  });
  server = await listen(app.app);
});
afterAll(() => server.close());

const send = (path: string, init: RequestInit = {}) => app.app.request(path, init);
const bearer = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

function expectSecurityHeaders(res: Response, what: string) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    expect(res.headers.get(name), `${name} on ${what}`).toBe(value);
  }
}

/** Every header line as sent on the wire, from the real listener: `[lowercase name, value]`. */
function rawHeaders(path: string) {
  return new Promise<[string, string][]>((resolve, reject) => {
    request(`${server.url}${path}`, (res) => {
      res.resume();
      const lines: [string, string][] = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        lines.push([(res.rawHeaders[i] ?? "").toLowerCase(), res.rawHeaders[i + 1] ?? ""]);
      }
      resolve(lines);
    })
      .on("error", reject)
      .end();
  });
}

describe("security headers", () => {
  it("are on every API response: JSON, created, empty, problems", async () => {
    const created = await send("/users", {
      method: "POST",
      headers: bearer,
      body: JSON.stringify({ email: `h-${Date.now()}@example.com`, name: "H" }),
    });
    expect(created.status).toBe(201);
    expectSecurityHeaders(created, "201");
    const { id } = (await created.json()) as { id: string };
    const read = await send(`/users/${id}`);
    expect(read.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expectSecurityHeaders(read, "200");
    expectSecurityHeaders(await send("/users/not-a-uuid"), "400");
    expectSecurityHeaders(await send("/nope"), "404");
    expectSecurityHeaders(await send("/users", { method: "POST" }), "401");
    expectSecurityHeaders(await send("/health/ready"), "/health/ready");
    expectSecurityHeaders(await send(`/users/${id}`, { method: "DELETE", headers: bearer }), "204");
  });

  it("are on the OpenAPI document too", async () => {
    expectSecurityHeaders(await send("/openapi.json"), "/openapi.json");
  });

  it("leave /docs its own policy, which lets Swagger UI run from the app's origin", async () => {
    const docs = await send("/docs");
    expect(docs.status).toBe(200);
    const policy = docs.headers.get("content-security-policy") ?? "";
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    expect(docs.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("are sent once each on the real listener, /docs with its own policy", async () => {
    for (const path of ["/users?limit=1", "/users/not-a-uuid", "/openapi.json", "/nope"]) {
      const lines = await rawHeaders(path);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
        expect(
          lines.filter(([n]) => n === name),
          `${name} on ${path}`,
        ).toEqual([[name, value]]);
      }
    }
    const docs = await rawHeaders("/docs");
    const policies = docs.filter(([name]) => name === "content-security-policy");
    expect(policies).toHaveLength(1);
    expect(policies[0]?.[1]).toContain("script-src 'self'");
    expect(docs.filter(([name]) => name === "x-content-type-options")).toHaveLength(1);
  });
});

describe("CORS", () => {
  const preflight = (origin: string) =>
    send("/users", {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });

  it("answers a preflight from an allowed origin", async () => {
    const res = await preflight(ALLOWED);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
      "authorization",
    );
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("gives a disallowed origin nothing to go on", async () => {
    const res = await preflight("https://evil.example.net");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const read = await send("/users?limit=1", { headers: { origin: "https://evil.example.net" } });
    expect(read.status).toBe(200);
    expect(read.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets an allowed origin read responses, refusals and the headers clients need", async () => {
    const read = await send("/users?limit=1", { headers: { origin: ALLOWED } });
    expect(read.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(read.headers.get("access-control-expose-headers")?.toLowerCase()).toContain(
      "x-request-id",
    );
    expect(read.headers.get("vary")).toContain("Origin");
    const refused = await send("/users", { method: "POST", headers: { origin: ALLOWED } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(ALLOWED);
  });

  it("sends no CORS headers when no origin is configured", async () => {
    const closed = createTestApp(testDb.database);
    const res = await closed.app.request("/users?limit=1", { headers: { origin: ALLOWED } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const options = await closed.app.request("/users", {
      method: "OPTIONS",
      headers: { origin: ALLOWED, "access-control-request-method": "POST" },
    });
    expect(options.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows any origin with *", async () => {
    const open = createTestApp(testDb.database, undefined, { security: { corsOrigins: ["*"] } });
    const res = await open.app.request("/users?limit=1", { headers: { origin: ALLOWED } });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});
