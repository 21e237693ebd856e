/**
 * Two server processes (src/server.ts, as deployed) on one database: transfers spread over both,
 * with the same Idempotency-Key sent to both at once. Money is conserved, and every key is
 * honoured across instances — one stored transfer, the same id in every answer — because both
 * rules live in PostgreSQL (a unique index, transactions), not in a process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testEnv } from "../../../src/env.js";
import { freePort } from "../../setup/cluster.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";

const testDb = useTestDatabase();
const TOKEN = randomBytes(32).toString("hex");

interface Instance {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function startInstance(databaseUrl: string): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    env: {
      PATH: testEnv().path,
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      DATABASE_URL: databaseUrl,
      HOST: "127.0.0.1",
      PORT: String(port),
      API_TOKENS: TOKEN,
      RATE_LIMIT: "off",
      APP_INSTANCES: "2",
      DATABASE_POOL_MAX: "4",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${url}/health/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { child, url, output: () => output };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`instance did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stop(instance: Instance | undefined) {
  if (!instance || instance.child.exitCode !== null) return;
  instance.child.kill("SIGTERM");
  await once(instance.child, "exit");
}

const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, ...headers },
    body: JSON.stringify(body),
  });

const idOf = async (response: Response) => ((await response.json()) as { id: string }).id;

describe.skipIf(!onRealServer())(`two server processes on one database (${NEEDS_SERVER})`, () => {
  let a: Instance | undefined;
  let b: Instance | undefined;

  beforeAll(async () => {
    const url = testDb.url ?? "";
    [a, b] = await Promise.all([startInstance(url), startInstance(url)]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([stop(a), stop(b)]);
  });

  it("conserves money and honours idempotency keys across instances", async () => {
    const instances = [a?.url ?? "", b?.url ?? ""];
    const userId = await idOf(
      await post(instances[0] ?? "", "/users", {
        email: `inst-${randomUUID()}@example.com`,
        name: "I",
      }),
    );
    const accounts: string[] = [];
    for (const [i, base] of instances.entries()) {
      for (let n = 0; n < 2; n++) {
        const response = await post(base, "/accounts", {
          userId,
          currency: "EUR",
          initialBalance: 10_000 + i,
        });
        expect(response.status).toBe(201);
        accounts.push(await idOf(response));
      }
    }
    const total = 2 * 10_000 + 2 * 10_001;

    // 80 transfers spread over both instances; every 4th is sent twice at once, once to each
    // instance, under one key.
    const keyed: { key: string; answers: Promise<Response>[] }[] = [];
    const plain: Promise<Response>[] = [];
    for (let i = 0; i < 80; i++) {
      const from = accounts[i % 4] ?? "";
      const to = accounts[(i + 1 + (i % 3)) % 4] ?? "";
      const body = { fromAccountId: from, toAccountId: to, amount: 1 + (i % 7) };
      if (i % 4 === 0) {
        const key = `inst-${randomUUID()}`;
        keyed.push({
          key,
          answers: instances.map((base) =>
            post(base, "/transfers", body, { "idempotency-key": key }),
          ),
        });
      } else {
        plain.push(post(instances[i % 2] ?? "", "/transfers", body));
      }
    }
    const plainStatuses = await Promise.all(plain.map(async (r) => (await r).status));
    expect(plainStatuses.every((status) => status === 201)).toBe(true);
    for (const { answers } of keyed) {
      const responses = await Promise.all(answers);
      expect(responses.map((r) => r.status)).toEqual([201, 201]);
      const ids = await Promise.all(responses.map(idOf));
      expect(new Set(ids).size).toBe(1);
    }

    const sql = postgres(testDb.url ?? "", { max: 1, onnotice: () => undefined });
    try {
      const [balances] = await sql<[{ sum: string }]>`
        select sum(balance)::text as sum from accounts where id = any(${accounts}::uuid[])`;
      expect(Number(balances?.sum)).toBe(total);
      const stored = await sql<{ key: string; n: number }[]>`
        select idempotency_key as key, count(*)::int as n from transfers
        where idempotency_key = any(${keyed.map((k) => k.key)}) group by idempotency_key`;
      expect(stored).toHaveLength(keyed.length);
      expect(stored.every((row) => row.n === 1)).toBe(true);
    } finally {
      await sql.end();
    }
    expect(a?.output() ?? "").not.toMatch(/"level":(50|60)/);
    expect(b?.output() ?? "").not.toMatch(/"level":(50|60)/);
  });
});
