/**
 * Writes with API tokens configured: POST, PUT, PATCH and DELETE need `Authorization: Bearer
 * <token>`; without one, or with a wrong one, they are 401 problem+json and nothing is written.
 * Reads, health, the OpenAPI document and /docs stay open.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { SecurityEvent } from "../../../src/security/events.js";
import { captureLogs, createTestApp } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const TOKEN = "write-token-0123456789abcdef0123456789";
const SECOND_TOKEN = "c2Vjb25kLXRva2VuLWZvci1yb3RhdGlvbi10ZXN0cw==";
const WRONG_TOKEN = "not-the-token-0123456789abcdef01234567";
const MISSING = "00000000-0000-4000-8000-000000000000";

const testDb = useTestDatabase();
const logs = captureLogs();
const events: SecurityEvent[] = [];
let app: ReturnType<typeof createTestApp>;
let n = 0;
const email = () => `auth-${Date.now()}-${n++}@example.com`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A request with a JSON body and `headers`; the body parsed when there is one. */
const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  app.raw(method, path, body, headers);
const authorized = async (method: string, path: string, body: unknown, status: number) => {
  const res = await call(method, path, body, bearer(TOKEN));
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return res.body;
};
const stats = async () => (await call("GET", "/stats")).body;

let user: { id: string; name: string };
let deletable: { id: string };
let from: { id: string };
let to: { id: string };

beforeAll(async () => {
  app = createTestApp(testDb.database, logs, {
    security: { apiTokens: [TOKEN, SECOND_TOKEN] },
    onSecurityEvent: (event) => events.push(event),
  });
  user = await authorized("POST", "/users", { email: email(), name: "Owner" }, 201);
  deletable = await authorized("POST", "/users", { email: email(), name: "Spare" }, 201);
  from = await authorized(
    "POST",
    "/accounts",
    { userId: user.id, currency: "EUR", initialBalance: 1_000 },
    201,
  );
  to = await authorized("POST", "/accounts", { userId: user.id, currency: "EUR" }, 201);
});

/** Every write route, with a body that would succeed with a token. */
const writes = (): [string, string, unknown][] => [
  ["POST", "/users", { email: email(), name: "Intruder" }],
  ["POST", "/users/bulk", { users: [{ email: email(), name: "Intruder" }] }],
  ["PATCH", `/users/${user.id}`, { name: "Changed" }],
  ["PUT", `/users/${user.id}`, { email: email(), name: "Changed" }],
  ["DELETE", `/users/${deletable.id}`, undefined],
  ["POST", "/accounts", { userId: user.id, currency: "EUR", initialBalance: 5 }],
  ["POST", "/transfers", { fromAccountId: from.id, toAccountId: to.id, amount: 10 }],
];

describe("writes without a valid token", () => {
  it.each([
    ["no Authorization header", {}, "Bearer"],
    ["a wrong token", bearer(WRONG_TOKEN), 'Bearer error="invalid_token"'],
    ["a prefix of the token", bearer(TOKEN.slice(0, -1)), 'Bearer error="invalid_token"'],
    ["another scheme", { authorization: `Basic ${TOKEN}` }, 'Bearer error="invalid_request"'],
    ["a bare token", { authorization: TOKEN }, 'Bearer error="invalid_request"'],
  ])("are 401 with %s, and write nothing", async (_case, headers, challenge) => {
    const before = await stats();
    const balance = (await call("GET", `/accounts/${from.id}`)).body.balance;
    for (const [method, path, body] of writes()) {
      const res = await call(method, path, body, headers);
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
      expect(res.headers.get("www-authenticate")).toBe(challenge);
      expect(res.body).toMatchObject({
        type: "/problems/unauthorized",
        title: "Unauthorized",
        status: 401,
        code: "unauthorized",
      });
      expect(typeof res.body.detail).toBe("string");
      expect(JSON.stringify(res.body)).not.toContain(TOKEN.slice(0, 12));
    }
    expect(await stats()).toEqual(before);
    expect((await call("GET", `/users/${user.id}`)).body.name).toBe("Owner");
    expect((await call("GET", `/users/${deletable.id}`)).status).toBe(200);
    expect((await call("GET", `/accounts/${from.id}`)).body.balance).toBe(balance);
  });

  it("are refused before their body is read: an oversize body is 401, not 413", async () => {
    const res = await call("POST", "/users", { email: email(), name: "x".repeat(1_100_000) });
    expect(res.status).toBe(401);
  });

  it("are logged as auth.refused, without the token, and reported to onSecurityEvent", async () => {
    logs.lines.length = 0;
    events.length = 0;
    await call("POST", "/users", { email: email(), name: "A" }, bearer(WRONG_TOKEN));
    await call("DELETE", `/users/${MISSING}`);
    const refused = logs.lines.filter((line) => line.event === "auth.refused");
    expect(refused).toMatchObject([
      { level: 40, reason: "invalid", method: "POST" },
      { level: 40, reason: "missing", method: "DELETE" },
    ]);
    expect(refused.every((line) => typeof line.requestId === "string")).toBe(true);
    expect(JSON.stringify(logs.lines)).not.toContain(WRONG_TOKEN);
    expect(events).toEqual(["auth.refused", "auth.refused"]);
  });
});

describe("writes with a valid token", () => {
  it("are served by every write route, with any configured token", async () => {
    events.length = 0;
    const second = bearer(SECOND_TOKEN);
    const created = await authorized("POST", "/users", { email: email(), name: "New" }, 201);
    expect((await call("POST", "/users", { email: email(), name: "B" }, second)).status).toBe(201);
    const lowercase = { authorization: `bearer ${TOKEN}` };
    expect((await call("POST", "/users", { email: email(), name: "C" }, lowercase)).status).toBe(
      201,
    );
    expect(
      await authorized("POST", "/users/bulk", { users: [{ email: email(), name: "D" }] }, 201),
    ).toEqual({ inserted: 1 });
    expect((await authorized("PATCH", `/users/${created.id}`, { name: "Renamed" }, 200)).name).toBe(
      "Renamed",
    );
    const account = await authorized(
      "POST",
      "/accounts",
      { userId: created.id, currency: "EUR", initialBalance: 50 },
      201,
    );
    await authorized(
      "POST",
      "/transfers",
      { fromAccountId: account.id, toAccountId: to.id, amount: 50 },
      201,
    );
    const spare = await authorized("POST", "/users", { email: email(), name: "Gone" }, 201);
    expect((await call("DELETE", `/users/${spare.id}`, undefined, second)).status).toBe(204);
    expect(events).not.toContain("auth.refused");
  });
});

describe("reads", () => {
  it("stay open: no token needed", async () => {
    const transfer = await authorized(
      "POST",
      "/transfers",
      { fromAccountId: from.id, toAccountId: to.id, amount: 1 },
      201,
    );
    for (const path of [
      `/users/${user.id}`,
      "/users?limit=2",
      `/users/${user.id}/accounts`,
      `/accounts/${from.id}`,
      `/accounts/${from.id}/transfers`,
      `/transfers/${transfer.id}`,
      "/stats",
      "/health/live",
      "/health/ready",
      "/openapi.json",
    ]) {
      expect((await call("GET", path)).status, path).toBe(200);
    }
    const docs = await app.app.request("/docs");
    expect(docs.status).toBe(200);
  });
});

describe("the OpenAPI document", () => {
  it("declares the bearer scheme, required by exactly the write operations", async () => {
    const spec = (await call("GET", "/openapi.json")).body as {
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { security?: unknown; responses: object }>>;
    };
    expect(spec.components.securitySchemes).toEqual({
      bearerAuth: expect.objectContaining({ type: "http", scheme: "bearer" }),
      // The per-user tokens of the owner-scoped reads (docs/security.md, "Row-level security").
      actorToken: expect.objectContaining({ type: "http", scheme: "bearer" }),
    });
    const operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );
    expect(operations.length).toBeGreaterThan(10);
    for (const { path, method, operation } of operations) {
      const write = method !== "get";
      const ownerScoped = path.startsWith("/me/");
      expect(operation.security, `${method} ${path}`).toEqual(
        write ? [{ bearerAuth: [] }] : ownerScoped ? [{ actorToken: [] }] : undefined,
      );
      expect(Object.keys(operation.responses).includes("401"), `${method} ${path}`).toBe(
        write || ownerScoped,
      );
    }
  });
});
