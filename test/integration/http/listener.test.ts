/**
 * The real HTTP listener under concurrent load (k6 can't run on the development machines, so
 * this is the in-repo stand-in): 2,000 mixed requests over 50 keep-alive connections, with
 * concurrent transfers and idempotent replays. No 5xx, and the money invariants hold.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LISTENER_OPTIONS } from "../../../src/http/middleware/request-context.js";
import { createTestApp } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const testDb = useTestDatabase({ DATABASE_POOL_MAX: "10" });
let baseUrl = "";
let close: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  const { app } = createTestApp(testDb.database);
  const server = serve({
    fetch: app.fetch,
    port: 0,
    hostname: "127.0.0.1",
    serverOptions: LISTENER_OPTIONS,
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => new Promise<void>((resolve) => server.close(() => resolve()));
});
afterAll(() => close());

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(baseUrl + path, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe("the HTTP listener", () => {
  it("sends x-request-id on every kind of response: echoed when sane, generated otherwise", async () => {
    const echoed = await fetch(`${baseUrl}/users?limit=1`, { headers: { "x-request-id": "rq-1" } });
    expect(echoed.headers.get("x-request-id")).toBe("rq-1");
    await echoed.text();
    const problem = await fetch(`${baseUrl}/users/not-a-uuid`, {
      headers: { "x-request-id": "<script>" },
    });
    expect(problem.status).toBe(400);
    expect(problem.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    await problem.text();
    const missing = await fetch(`${baseUrl}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    await missing.text();
  });

  it("labels JSON as the contract does, and problems as problem+json", async () => {
    const json = await fetch(`${baseUrl}/users?limit=1`);
    expect(json.headers.get("content-type")).toBe("application/json; charset=utf-8");
    await json.text();
    const problem = await fetch(`${baseUrl}/users/not-a-uuid`);
    expect(problem.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
    await problem.text();
  });
});

describe("the HTTP listener under 50 concurrent connections", () => {
  it("serves 2,000 mixed requests with no 5xx and keeps the ledger consistent", async () => {
    const owner = (
      await call("POST", "/users", { email: `load-${Date.now()}@example.com`, name: "L" })
    ).body;
    const accounts: string[] = [];
    for (let i = 0; i < 20; i++) {
      accounts.push(
        (
          await call("POST", "/accounts", {
            userId: owner.id,
            currency: "EUR",
            initialBalance: 5_000,
          })
        ).body.id,
      );
    }
    const total = async () =>
      (await call("GET", "/stats")).body.balances.find(
        (b: { currency: string }) => b.currency === "EUR",
      ).total;
    const before = await total();

    const statuses = new Map<number, number>();
    const replayIds = new Map<string, Set<string>>();
    let next = 0;
    const worker = async (w: number) => {
      for (let i = next++; i < 2_000; i = next++) {
        const a = accounts[(i * 7 + w) % 20] as string;
        const b = accounts[(i * 11 + w + 1) % 20] as string;
        let res: { status: number; body: { id?: string } };
        switch (i % 8) {
          case 0:
          case 1:
            res = await call("POST", "/transfers", {
              fromAccountId: a,
              toAccountId: a === b ? accounts[(i + 3) % 20] : b,
              amount: 1 + (i % 700),
            });
            break;
          case 2: {
            // Ten requests share each key: one moves money, the rest replay it.
            const key = `k-${Math.floor(i / 80)}`;
            res = await call(
              "POST",
              "/transfers",
              { fromAccountId: accounts[0], toAccountId: accounts[1], amount: 1 },
              { "idempotency-key": key },
            );
            if (res.status === 201 && res.body.id)
              replayIds.set(key, (replayIds.get(key) ?? new Set()).add(res.body.id));
            break;
          }
          case 3:
            res = await call("GET", `/accounts/${a}`);
            break;
          case 4:
            res = await call("GET", `/accounts/${b}/transfers?limit=10`);
            break;
          case 5:
            res = await call("POST", "/users", {
              email: `u${i}-${Date.now()}@example.com`,
              name: `U${i}`,
            });
            break;
          case 6:
            res = await call("GET", `/users?limit=20`);
            break;
          default:
            res = await call("GET", "/stats");
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, w) => worker(w)));

    const serverErrors = [...statuses].filter(([status]) => status >= 500);
    expect(serverErrors).toEqual([]);
    expect([...statuses.keys()].every((s) => [200, 201, 422].includes(s))).toBe(true);
    expect([...statuses.values()].reduce((x, y) => x + y, 0)).toBe(2_000);
    for (const ids of replayIds.values()) expect(ids.size).toBe(1);
    expect(await total()).toBe(before);
    for (const id of accounts)
      expect((await call("GET", `/accounts/${id}`)).body.balance).toBeGreaterThanOrEqual(0);
  });
});
