import { describe, expect, it } from "vitest";
import { expectStatus, useTestApp } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const testDb = useTestDatabase();
const api = useTestApp(testDb);
const MISSING = "00000000-0000-4000-8000-000000000000";
let n = 0;

const newUser = () =>
  expectStatus(
    api.client.users.$post({ json: { email: `at-${Date.now()}-${n++}@example.com`, name: "T" } }),
    201,
  );
async function newAccount(currency = "EUR", initialBalance = 0, userId?: string) {
  const owner = userId ?? (await newUser()).id;
  return expectStatus(
    api.client.accounts.$post({ json: { userId: owner, currency, initialBalance } }),
    201,
  );
}
const account = (id: string) =>
  expectStatus(api.client.accounts[":id"].$get({ param: { id } }), 200);
const transfer = (
  json: { fromAccountId: string; toAccountId: string; amount: number },
  idempotencyKey?: string,
) =>
  api.client.transfers.$post({
    json,
    header: idempotencyKey === undefined ? {} : { "idempotency-key": idempotencyKey },
  });

describe("accounts", () => {
  it("opens an account with an initial balance and reads it back", async () => {
    const user = await newUser();
    const res = await api.client.accounts.$post({
      json: { userId: user.id, currency: "USD", initialBalance: 1234 },
    });
    const created = await expectStatus(res, 201);
    expect(created).toMatchObject({ userId: user.id, currency: "USD", balance: 1234 });
    expect(res.headers.get("location")).toBe(`/accounts/${created.id}`);
    expect(await account(created.id)).toEqual(created);
  });

  it("defaults initialBalance to 0", async () => {
    const user = await newUser();
    const res = api.client.accounts.$post({ json: { userId: user.id, currency: "EUR" } });
    expect((await expectStatus(res, 201)).balance).toBe(0);
  });

  it("answers 422 foreign_key_violation for an unknown user", async () => {
    const res = api.client.accounts.$post({ json: { userId: MISSING, currency: "EUR" } });
    const problem = await expectStatus(res, 422);
    expect(problem.code).toBe("foreign_key_violation");
    expect(JSON.stringify(problem)).not.toContain(MISSING);
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
    // Raw: some of these bodies are not of the contract's type, which the typed client refuses.
    const res = await api.raw("POST", "/accounts", { userId: user.id, ...body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_failed");
  });

  it("lists a user's accounts, and 404s for an unknown user", async () => {
    const user = await newUser();
    const a = await newAccount("EUR", 1, user.id);
    const b = await newAccount("USD", 2, user.id);
    const accounts = api.client.users[":id"].accounts;
    const list = await expectStatus(accounts.$get({ param: { id: user.id } }), 200);
    expect(list.items.map((x) => x.id).sort()).toEqual([a.id, b.id].sort());
    await expectStatus(accounts.$get({ param: { id: MISSING } }), 404);
    await expectStatus(api.client.accounts[":id"].$get({ param: { id: MISSING } }), 404);
    await expectStatus(api.client.accounts[":id"].$get({ param: { id: "nope" } }), 400);
  });
});

describe("transfers", () => {
  it("moves money in one step and reads the transfer back", async () => {
    const from = await newAccount("EUR", 1000);
    const to = await newAccount("EUR", 0);
    const res = await transfer({ fromAccountId: from.id, toAccountId: to.id, amount: 250 });
    const created = await expectStatus(res, 201);
    expect(created).toMatchObject({
      fromAccountId: from.id,
      toAccountId: to.id,
      amount: 250,
      currency: "EUR",
    });
    expect(res.headers.get("location")).toBe(`/transfers/${created.id}`);
    expect((await account(from.id)).balance).toBe(750);
    expect((await account(to.id)).balance).toBe(250);
    const byId = api.client.transfers[":id"];
    expect(await expectStatus(byId.$get({ param: { id: created.id } }), 200)).toEqual(created);
    await expectStatus(byId.$get({ param: { id: MISSING } }), 404);
  });

  it("refuses an overdraft with 422 insufficient_funds and changes nothing", async () => {
    const from = await newAccount("EUR", 100);
    const to = await newAccount("EUR", 0);
    const res = transfer({ fromAccountId: from.id, toAccountId: to.id, amount: 101 });
    expect((await expectStatus(res, 422)).code).toBe("insufficient_funds");
    expect((await account(from.id)).balance).toBe(100);
    const history = api.client.accounts[":id"].transfers.$get({
      param: { id: from.id },
      query: {},
    });
    expect((await expectStatus(history, 200)).items).toEqual([]);
  });

  it("refuses different currencies with 422 currency_mismatch", async () => {
    const from = await newAccount("EUR", 100);
    const to = await newAccount("USD", 0);
    const res = transfer({ fromAccountId: from.id, toAccountId: to.id, amount: 1 });
    expect((await expectStatus(res, 422)).code).toBe("currency_mismatch");
  });

  it("answers 404 for an unknown account and 400 for the same account on both sides", async () => {
    const acc = await newAccount("EUR", 100);
    await expectStatus(transfer({ fromAccountId: acc.id, toAccountId: MISSING, amount: 1 }), 404);
    const same = transfer({ fromAccountId: acc.id, toAccountId: acc.id, amount: 1 });
    expect((await expectStatus(same, 400)).code).toBe("validation_failed");
  });

  it.each([0, -5, 1.5, "10", 2 ** 53, null])("answers 400 for amount %s", async (amount) => {
    const from = await newAccount("EUR", 100);
    const to = await newAccount("EUR", 0);
    // Raw: a string or null amount is not of the contract's type.
    const res = await api.raw("POST", "/transfers", {
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
    const first = await expectStatus(transfer(body, key), 201);
    const again = await expectStatus(transfer(body, key), 201);
    expect(again.id).toBe(first.id);
    expect((await account(from.id)).balance).toBe(900);

    const other = await expectStatus(transfer({ ...body, amount: 5 }, key), 409);
    expect(other.code).toBe("idempotency_key_reused");
  });

  it("keeps a key free when the request failed", async () => {
    const from = await newAccount("EUR", 10);
    const to = await newAccount("EUR", 0);
    const key = `failed-${Date.now()}`;
    await expectStatus(
      transfer({ fromAccountId: from.id, toAccountId: to.id, amount: 50 }, key),
      422,
    );
    await expectStatus(
      transfer({ fromAccountId: from.id, toAccountId: to.id, amount: 5 }, key),
      201,
    );
  });

  it.each(["", "a b", "x".repeat(256), "é"])(
    "rejects the Idempotency-Key %j with 400",
    async (key) => {
      const from = await newAccount("EUR", 10);
      const to = await newAccount("EUR", 0);
      await expectStatus(
        transfer({ fromAccountId: from.id, toAccountId: to.id, amount: 1 }, key),
        400,
      );
    },
  );

  it("pages an account's transfers newest first, each exactly once", async () => {
    const a = await newAccount("EUR", 10_000);
    const b = await newAccount("EUR", 10_000);
    const ids: string[] = [];
    for (let i = 0; i < 13; i++) {
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
      const created = await expectStatus(
        transfer({ fromAccountId: from.id, toAccountId: to.id, amount: 1 + i }),
        201,
      );
      ids.push(created.id);
    }
    const history = api.client.accounts[":id"].transfers;
    const walked: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await expectStatus(
        history.$get({ param: { id: a.id }, query: { limit: 4, cursor } }),
        200,
      );
      walked.push(...page.items.map((t) => t.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(walked).toEqual([...ids].reverse());
    await expectStatus(history.$get({ param: { id: MISSING }, query: {} }), 404);
    await expectStatus(history.$get({ param: { id: a.id }, query: { cursor: "bad!" } }), 400);
  });
});

describe("stats, health and docs", () => {
  const stats = () => expectStatus(api.client.stats.$get(), 200);

  it("reports counts and per-currency totals", async () => {
    const before = await stats();
    await newAccount("JPY", 500);
    const after = await stats();
    expect(after.users).toBe(before.users + 1);
    expect(after.accounts).toBe(before.accounts + 1);
    const jpy = (s: typeof before) => s.balances.find((b) => b.currency === "JPY")?.total ?? 0;
    expect(jpy(after) - jpy(before)).toBe(500);
  });

  it("answers liveness and readiness", async () => {
    expect(await expectStatus(api.client.health.live.$get(), 200)).toEqual({ status: "ok" });
    const ready = await expectStatus(api.client.health.ready.$get(), 200);
    expect(ready.checks.database.status).toBe("ok");
    expect(typeof ready.checks.database.latencyMs).toBe("number");
  });

  it("serves an OpenAPI 3.1 document covering every route", async () => {
    // Raw: the document is served by zod-openapi, outside the routes' contracts.
    const doc = (await api.raw("GET", "/openapi.json")).body;
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
        "GET /me/accounts",
      ].sort(),
    );
  });

  it("answers unknown routes with a problem 404 and echoes a sane request id", async () => {
    // Raw: an unknown route is outside the typed client's contract.
    const res = await api.raw("GET", "/nope", undefined, { "x-request-id": "abc-123" });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    const insane = await api.client.health.live.$get(undefined, {
      headers: { "x-request-id": "<script>" },
    });
    expect(insane.headers.get("x-request-id")).not.toBe("<script>");
    expect(insane.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
