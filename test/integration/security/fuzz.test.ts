/**
 * Property-based fuzzing of every route in the OpenAPI document (fast-check): 1,200 generated
 * hostile requests — SQL injection payloads, wrong types, numbers past every bound, unicode edge
 * cases, NUL bytes, deep JSON, malformed JSON, percent-encoding and headers — with write tokens
 * configured, so that writes reach the handlers. Every answer must be below 500, an error must
 * carry no SQL text and none of the request's values, and afterwards the money in the ledger
 * must be what it was plus the opening balances of the accounts the fuzzer managed to open
 * (and the audit log intact). Oversize bodies are one example per body route (they are big).
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyAuditLog } from "../../../src/audit/verify.js";
import { createTestApp } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";
import {
  contentType,
  headerValue,
  hostileValue,
  malformedBody,
  pathSegment,
  toJsonText,
} from "./fuzz-inputs.js";

const testDb = useTestDatabase();
const TOKEN = "fuzz-test-token-0123456789abcdef0123456789abcdef";
const RUNS = 1_200;
const MiB = 1024 * 1024;

/** A valid body per route, whose fields the fuzzer replaces; other routes get `{}`. */
const TEMPLATES: Record<string, (ids: Known) => Record<string, unknown>> = {
  "POST /users": () => ({ email: "fuzz@example.com", name: "Fuzz" }),
  "PATCH /users/{id}": () => ({ email: "fuzz2@example.com", name: "Fuzz" }),
  "POST /users/bulk": () => ({ users: [{ email: "bulk@example.com", name: "B" }] }),
  "POST /accounts": (ids) => ({ userId: ids.user, currency: "EUR", initialBalance: 0 }),
  "POST /transfers": (ids) => ({ fromAccountId: ids.eur1, toAccountId: ids.eur2, amount: 1 }),
};

/** SQL in an error body: the driver's "Failed query: ... params: ...", or statement text. */
const SQL_TEXT =
  /failed query|params:|\bselect\b[\s\S]*\bfrom\b|\binsert into\b|\bdelete from\b|\bupdate\b[\s\S]*\bset\b|syntax error|violates|relation "|pg_catalog/i;

interface Known {
  user: string;
  eur1: string;
  eur2: string;
  usd: string;
  transfer: string;
}
interface Operation {
  method: string;
  path: string;
  hasBody: boolean;
}

let app: ReturnType<typeof createTestApp>["app"];
let known: Known;
let operations: Operation[];

const auth = { authorization: `Bearer ${TOKEN}` };
async function post(path: string, body: unknown) {
  const res = await app.request(path, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}
async function totals(): Promise<Map<string, number>> {
  const stats = (await (await app.request("/stats")).json()) as {
    balances: { currency: string; total: number }[];
  };
  return new Map(stats.balances.map((b) => [b.currency, b.total]));
}

beforeAll(async () => {
  app = createTestApp(testDb.database, undefined, { security: { apiTokens: [TOKEN] } }).app;
  const user = await post("/users", { email: "fuzz-owner@example.com", name: "Owner" });
  const open = (currency: string, initialBalance: number) =>
    post("/accounts", { userId: user.id, currency, initialBalance });
  const [eur1, eur2, usd] = [
    await open("EUR", 10_000),
    await open("EUR", 500),
    await open("USD", 7),
  ];
  const transfer = await post("/transfers", {
    fromAccountId: eur1.id,
    toAccountId: eur2.id,
    amount: 5,
  });
  known = { user: user.id, eur1: eur1.id, eur2: eur2.id, usd: usd.id, transfer: transfer.id };

  const document = (await (await app.request("/openapi.json")).json()) as {
    paths: Record<string, Record<string, { requestBody?: unknown }>>;
  };
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      hasBody: operation.requestBody !== undefined,
    })),
  );
});

/**
 * Strings of the request long enough that finding one in an error body means it was echoed,
 * and the keys of its objects, which a 400 does name (an unknown field), as it should.
 */
function requestStrings(values: unknown[]) {
  const found: string[] = [];
  const keys = new Set<string>();
  const visit = (value: unknown, depth: number) => {
    if (depth > 5) return;
    if (typeof value === "string" && value.length >= 8 && !value.startsWith("@@raw:")) {
      found.push(value);
    } else if (Array.isArray(value)) for (const v of value) visit(v, depth + 1);
    else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        keys.add(k);
        visit(v, depth + 1);
      }
    }
  };
  for (const value of values) visit(value, 0);
  return { echoable: found.filter((value) => !keys.has(value)), keys };
}

/** `text` without the request's keys, as JSON spells them. */
function withoutKeys(text: string, keys: Set<string>) {
  let scrubbed = text;
  for (const key of keys)
    if (key) scrubbed = scrubbed.replaceAll(JSON.stringify(key).slice(1, -1), "");
  return scrubbed;
}

describe("fuzzing every route with hostile input", () => {
  it(`answers ${RUNS} generated requests without a 500, SQL or echoed values, and keeps the money`, async () => {
    const before = await totals();
    const opened = new Map<string, number>();
    const hits = new Map<string, number>();
    const statuses = new Map<number, number>();
    const ids = Object.values(known);
    let sent = 0;

    const request = fc.record({
      operation: fc.integer({ min: 0, max: operations.length - 1 }),
      segment: pathSegment(ids),
      query: fc.dictionary(fc.constantFrom("limit", "cursor", "x", "limit[]"), hostileValue, {
        maxKeys: 2,
      }),
      body: fc.oneof(
        // The route's valid body with some fields replaced, maybe an unknown field added.
        fc.record({
          kind: fc.constant("mutated" as const),
          replace: fc.dictionary(
            fc.constantFrom(
              "email",
              "name",
              "users",
              "userId",
              "currency",
              "initialBalance",
              "fromAccountId",
              "toAccountId",
              "amount",
              "__proto__",
              "constructor",
            ),
            // Plausible values too, so that some writes succeed and move money.
            fc.oneof(
              { weight: 2, arbitrary: hostileValue },
              {
                weight: 1,
                arbitrary: fc.oneof(
                  fc.constantFrom(...ids, "EUR", "USD", "eur", 0, 1, 7, 100, 20_000),
                  fc.emailAddress(),
                ),
              },
            ),
            { maxKeys: 3 },
          ),
        }),
        fc.record({ kind: fc.constant("value" as const), value: hostileValue }),
        fc.record({ kind: fc.constant("text" as const), text: malformedBody }),
      ),
      contentType: fc.oneof({ weight: 3, arbitrary: fc.constant("application/json") }, contentType),
      // Mostly the valid token, so writes reach their handlers; else a hostile header.
      authorized: fc.integer({ min: 0, max: 9 }).map((n) => n < 8),
      authorization: headerValue,
      idempotencyKey: fc.option(headerValue),
      requestId: fc.option(headerValue),
    });

    await fc.assert(
      fc.asyncProperty(request, async (input) => {
        const operation = operations[input.operation] as Operation;
        const key = `${operation.method} ${operation.path}`;
        hits.set(key, (hits.get(key) ?? 0) + 1);
        const path = operation.path.replaceAll(/\{[^}]+\}/g, input.segment);
        const query = new URLSearchParams(
          Object.entries(input.query).map(([k, v]): [string, string] => [
            k,
            typeof v === "string" ? v : toJsonText(v),
          ]),
        ).toString();

        let bodyText: string | undefined;
        let bodyValue: unknown;
        if (operation.hasBody || input.body.kind === "text") {
          if (input.body.kind === "mutated") {
            bodyValue = { ...(TEMPLATES[key]?.(known) ?? {}), ...input.body.replace };
          } else if (input.body.kind === "value") bodyValue = input.body.value;
          bodyText = input.body.kind === "text" ? input.body.text : toJsonText(bodyValue);
        }
        const headers: Record<string, string> = {
          authorization: input.authorized ? auth.authorization : input.authorization,
        };
        if (input.contentType) headers["content-type"] = input.contentType;
        if (input.idempotencyKey !== null) headers["idempotency-key"] = input.idempotencyKey;
        if (input.requestId !== null) headers["x-request-id"] = input.requestId;

        let req: Request;
        try {
          req = new Request(`http://localhost${path}${query ? `?${query}` : ""}`, {
            method: operation.method,
            headers,
            body: operation.method === "GET" || operation.method === "HEAD" ? undefined : bodyText,
          });
        } catch {
          return; // not a request a client could send (an invalid header value, say)
        }
        sent++;
        const res = await app.request(req);
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, `${key} -> ${res.status} ${text.slice(0, 300)}`).toBeLessThan(500);

        if (res.status === 201 && key === "POST /accounts") {
          const account = JSON.parse(text) as { currency: string; balance: number };
          opened.set(account.currency, (opened.get(account.currency) ?? 0) + account.balance);
        }
        if (res.status >= 400) {
          const { echoable, keys } = requestStrings([bodyValue, input.query, input.segment]);
          expect(withoutKeys(text, keys), key).not.toMatch(SQL_TEXT);
          for (const value of echoable) {
            expect(text.includes(value), `${key} echoed ${JSON.stringify(value)}`).toBe(false);
          }
        }
      }),
      { numRuns: RUNS },
    );
    // Generated inputs a client can't send (a header value Request refuses) don't count.
    expect(sent).toBeGreaterThanOrEqual(1_000);

    // Every route was fuzzed (a route added later is picked up from the OpenAPI document).
    for (const { method, path } of operations) {
      expect(hits.get(`${method} ${path}`) ?? 0, `${method} ${path}`).toBeGreaterThan(5);
    }
    // Most requests are refused, some get through: both paths were exercised.
    expect([...statuses.keys()].some((status) => status < 300)).toBe(true);
    expect([...statuses.keys()].some((status) => status === 400)).toBe(true);

    const after = await totals();
    for (const currency of new Set([...before.keys(), ...after.keys()])) {
      expect(after.get(currency) ?? 0, currency).toBe(
        (before.get(currency) ?? 0) + (opened.get(currency) ?? 0),
      );
    }
    const audit = await verifyAuditLog(testDb.db);
    expect(audit.problems).toEqual([]);
  }, 120_000);

  it("refuses an oversize body on every body route with 413, reading nothing", async () => {
    const before = await totals();
    for (const { method, path } of operations.filter((o) => o.hasBody)) {
      const limit = path === "/users/bulk" ? 16 * MiB : MiB;
      const url = `http://localhost${path.replaceAll(/\{[^}]+\}/g, known.user)}`;
      const res = await app.request(
        new Request(url, {
          method,
          headers: { ...auth, "content-type": "application/json" },
          body: `{"email":"${"x".repeat(limit)}"}`,
        }),
      );
      expect(res.status, `${method} ${path}`).toBe(413);
      expect(await res.text()).not.toContain("xxxxxxxx");
    }
    expect(await totals()).toEqual(before);
  });
});
