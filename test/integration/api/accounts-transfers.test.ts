import { describe, expect, it } from "vitest";
import { createTestApp } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const testDb = useTestDatabase();
const api = () => createTestApp(testDb.database).json;
const MISSING = "00000000-0000-4000-8000-000000000000";
let n = 0;

async function newUser() {
  const res = await api()("POST", "/users", {
    email: `at-${Date.now()}-${n++}@example.com`,
    name: "T",
  });
  expect(res.status).toBe(201);
  return res.body as { id: string };
}
async function newAccount(currency = "EUR", initialBalance = 0, userId?: string) {
  const owner = userId ?? (await newUser()).id;
  const res = await api()("POST", "/accounts", { userId: owner, currency, initialBalance });
  expect(res.status).toBe(201);
  return res.body as { id: string; balance: number; userId: string };
}

describe("accounts", () => {
  it("opens an account with an initial balance and reads it back", async () => {
    const user = await newUser();
    const res = await api()("POST", "/accounts", {
      userId: user.id,
      currency: "USD",
      initialBalance: 1234,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ userId: user.id, currency: "USD", balance: 1234 });
    expect(res.headers.get("location")).toBe(`/accounts/${res.body.id}`);
    expect((await api()("GET", `/accounts/${res.body.id}`)).body).toEqual(res.body);
  });

  it("defaults initialBalance to 0", async () => {
    const user = await newUser();
    const res = await api()("POST", "/accounts", { userId: user.id, currency: "EUR" });
    expect(res.body.balance).toBe(0);
  });

  it("answers 422 foreign_key_violation for an unknown user", async () => {
    const res = await api()("POST", "/accounts", { userId: MISSING, currency: "EUR" });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe("foreign_key_violation");
    expect(JSON.stringify(res.body)).not.toContain(MISSING);
  });

  it.each([
    ["negative balance", { currency: "EUR", initialBalance: -1 }],
    ["fractional balance", { currency: "EUR", initialBalance: 1.5 }],
    ["string balance", { currency: "EUR", initialBalance: "100" }],
    ["unsafe balance", { currency: "EUR", initialBalance: 2 ** 53 }],
    ["lowercase currency", { currency: "eur" }],
    ["long currency", { currency: "EURO" }],
    ["unknown field", { currency: "EUR", colour: "red" }],
  ])("answers 400 for %s", async (_case, body) => {
    const user = await newUser();
    const res = await api()("POST", "/accounts", { userId: user.id, ...body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_failed");
  });

  it("lists a user's accounts, and 404s for an unknown user", async () => {
    const user = await newUser();
    const a = await newAccount("EUR", 1, user.id);
    const b = await newAccount("USD", 2, user.id);
    const res = await api()("GET", `/users/${user.id}/accounts`);
    expect(res.status).toBe(200);
    expect(res.body.items.map((x: { id: string }) => x.id).sort()).toEqual([a.id, b.id].sort());
    expect((await api()("GET", `/users/${MISSING}/accounts`)).status).toBe(404);
    expect((await api()("GET", `/accounts/${MISSING}`)).status).toBe(404);
    expect((await api()("GET", "/accounts/nope")).status).toBe(400);
  });
});

describe("transfers", () => {
  it("moves money in one step and reads the transfer back", async () => {
    const from = await newAccount("EUR", 1000);
    const to = await newAccount("EUR", 0);
    const res = await api()("POST", "/transfers", {
      fromAccountId: from.id,
      toAccountId: to.id,
      amount: 250,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      fromAccountId: from.id,
      toAccountId: to.id,
      amount: 250,
      currency: "EUR",
    });
    expect((await api()("GET", `/accounts/${from.id}`)).body.balance).toBe(750);
    expect((await api()("GET", `/accounts/${to.id}`)).body.balance).toBe(250);
    expect((await api()("GET", `/transfers/${res.body.id}`)).body).toEqual(res.body);
    expect((await api()("GET", `/transfers/${MISSING}`)).status).toBe(404);
  });

  it("refuses an overdraft with 422 insufficient_funds and changes nothing", async () => {
    const from = await newAccount("EUR", 100);
    const to = await newAccount("EUR", 0);
    const res = await api()("POST", "/transfers", {
      fromAccountId: from.id,
      toAccountId: to.id,
      amount: 101,
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe("insufficient_funds");
    expect((await api()("GET", `/accounts/${from.id}`)).body.balance).toBe(100);
    expect((await api()("GET", `/accounts/${from.id}/transfers`)).body.items).toEqual([]);
  });

  it("refuses different currencies with 422 currency_mismatch", async () => {
    const from = await newAccount("EUR", 100);
    const to = await newAccount("USD", 0);
    const res = await api()("POST", "/transfers", {
      fromAccountId: from.id,
      toAccountId: to.id,
      amount: 1,
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe("currency_mismatch");
  });

  it("answers 404 for an unknown account and 400 for the same account on both sides", async () => {
    const acc = await newAccount("EUR", 100);
    const unknown = await api()("POST", "/transfers", {
      fromAccountId: acc.id,
      toAccountId: MISSING,
      amount: 1,
    });
    expect(unknown.status).toBe(404);
    const same = await api()("POST", "/transfers", {
      fromAccountId: acc.id,
      toAccountId: acc.id,
      amount: 1,
    });
    expect(same.status).toBe(400);
    expect(same.body.code).toBe("validation_failed");
  });

  it.each([0, -5, 1.5, "10", 2 ** 53, null])("answers 400 for amount %s", async (amount) => {
    const from = await newAccount("EUR", 100);
    const to = await newAccount("EUR", 0);
    const res = await api()("POST", "/transfers", {
      fromAccountId: from.id,
      toAccountId: to.id,
      amount,
    });
    expect(res.status).toBe(400);
  });

  it("replays an idempotent request without moving money twice; a different body is 409", async () => {
    const from = await newAccount("EUR", 1000);
    const to = await newAccount("EUR", 0);
    const key = `key-${Date.now()}`;
    const body = { fromAccountId: from.id, toAccountId: to.id, amount: 100 };
    const first = await api()("POST", "/transfers", body, { "idempotency-key": key });
    const again = await api()("POST", "/transfers", body, { "idempotency-key": key });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect((await api()("GET", `/accounts/${from.id}`)).body.balance).toBe(900);

    const other = await api()(
      "POST",
      "/transfers",
      { ...body, amount: 5 },
      { "idempotency-key": key },
    );
    expect(other.status).toBe(409);
    expect(other.body.code).toBe("idempotency_key_reused");
  });

  it("keeps a key free when the request failed", async () => {
    const from = await newAccount("EUR", 10);
    const to = await newAccount("EUR", 0);
    const key = `failed-${Date.now()}`;
    const tooMuch = await api()(
      "POST",
      "/transfers",
      { fromAccountId: from.id, toAccountId: to.id, amount: 50 },
      { "idempotency-key": key },
    );
    expect(tooMuch.status).toBe(422);
    const ok = await api()(
      "POST",
      "/transfers",
      { fromAccountId: from.id, toAccountId: to.id, amount: 5 },
      { "idempotency-key": key },
    );
    expect(ok.status).toBe(201);
  });

  it.each(["", "a b", "x".repeat(256), "é"])(
    "rejects the Idempotency-Key %j with 400",
    async (key) => {
      const from = await newAccount("EUR", 10);
      const to = await newAccount("EUR", 0);
      const res = await api()(
        "POST",
        "/transfers",
        { fromAccountId: from.id, toAccountId: to.id, amount: 1 },
        { "idempotency-key": key },
      );
      expect(res.status).toBe(400);
    },
  );

  it("pages an account's transfers newest first, each exactly once", async () => {
    const a = await newAccount("EUR", 10_000);
    const b = await newAccount("EUR", 10_000);
    const ids: string[] = [];
    for (let i = 0; i < 13; i++) {
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
      const res = await api()("POST", "/transfers", {
        fromAccountId: from.id,
        toAccountId: to.id,
        amount: 1 + i,
      });
      ids.push(res.body.id);
    }
    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await api()(
        "GET",
        `/accounts/${a.id}/transfers?limit=4${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(res.status).toBe(200);
      walked.push(...res.body.items.map((t: { id: string }) => t.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(walked).toEqual([...ids].reverse());
    expect((await api()("GET", `/accounts/${MISSING}/transfers`)).status).toBe(404);
    expect((await api()("GET", `/accounts/${a.id}/transfers?cursor=bad!`)).status).toBe(400);
  });
});

describe("stats, health and docs", () => {
  it("reports counts and per-currency totals", async () => {
    const before = (await api()("GET", "/stats")).body;
    await newAccount("JPY", 500);
    const after = (await api()("GET", "/stats")).body;
    expect(after.users).toBe(before.users + 1);
    expect(after.accounts).toBe(before.accounts + 1);
    const jpy = (s: { balances: { currency: string; total: number }[] }) =>
      s.balances.find((b) => b.currency === "JPY")?.total ?? 0;
    expect(jpy(after) - jpy(before)).toBe(500);
  });

  it("answers liveness and readiness", async () => {
    expect((await api()("GET", "/health/live")).body).toEqual({ status: "ok" });
    const ready = await api()("GET", "/health/ready");
    expect(ready.status).toBe(200);
    expect(ready.body.checks.database.status).toBe("ok");
    expect(typeof ready.body.checks.database.latencyMs).toBe("number");
  });

  it("serves an OpenAPI 3.1 document covering every route, and a docs page", async () => {
    const doc = (await api()("GET", "/openapi.json")).body;
    expect(doc.openapi).toBe("3.1.0");
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops as object).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        "GET /health/live",
        "GET /health/ready",
        "POST /users",
        "GET /users",
        "GET /users/{id}",
        "PATCH /users/{id}",
        "DELETE /users/{id}",
        "POST /users/bulk",
        "POST /accounts",
        "GET /accounts/{id}",
        "GET /users/{id}/accounts",
        "GET /accounts/{id}/transfers",
        "POST /transfers",
        "GET /transfers/{id}",
        "GET /stats",
      ].sort(),
    );
    const page = await createTestApp(testDb.database).app.request("/docs");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/openapi.json");
  });

  it("answers unknown routes with a problem 404 and echoes a sane request id", async () => {
    const res = await api()("GET", "/nope", undefined, { "x-request-id": "abc-123" });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    const insane = await api()("GET", "/health/live", undefined, { "x-request-id": "<script>" });
    expect(insane.headers.get("x-request-id")).not.toBe("<script>");
  });
});
