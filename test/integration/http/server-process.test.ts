/**
 * The process entry (src/server.ts) as users run it: refuses bad configuration before
 * connecting, and on SIGTERM finishes the request in flight, drains the pool and exits 0.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { testEnv } from "../../../src/env.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";

const testDb = useTestDatabase();

function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    env: {
      PATH: testEnv().path,
      NODE_ENV: "production",
      LOG_LEVEL: "info",
      API_AUTH: "off",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  return { child, output: () => output };
}

async function freePort() {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as { port: number };
  probe.close();
  return port;
}

async function exitCode(child: ChildProcess) {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = await once(child, "exit");
  return code as number;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("timed out");
}

describe("server process", () => {
  it("exits non-zero naming every bad variable, without printing the password", async () => {
    const { child, output } = startServer({
      DATABASE_URL: "mysql://admin:hunter2-secret@db/app",
      PORT: "not-a-port",
      DATABASE_POOL_MAX: "-3",
    });
    expect(await exitCode(child)).not.toBe(0);
    expect(output()).toContain("DATABASE_URL");
    expect(output()).toContain("PORT");
    expect(output()).toContain("DATABASE_POOL_MAX");
    expect(output()).not.toContain("hunter2-secret");
  });

  it.skipIf(!onRealServer())(
    `finishes the in-flight request on SIGTERM, then exits 0 (${NEEDS_SERVER})`,
    async () => {
      const url = testDb.url as string;
      const port = await freePort();
      const { child, output } = startServer({
        DATABASE_URL: url,
        PORT: String(port),
        HOST: "127.0.0.1",
      });
      const base = `http://127.0.0.1:${port}`;
      try {
        await waitFor(async () => (await fetch(`${base}/health/ready`)).ok);
        const post = async (path: string, body: unknown) => {
          const res = await fetch(`${base}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
          return { status: res.status, body: (await res.json()) as { id: string } };
        };
        const user = (await post("/users", { email: `sig-${port}@example.com`, name: "S" })).body;
        const open = async () =>
          (await post("/accounts", { userId: user.id, currency: "EUR", initialBalance: 100 })).body
            .id;
        const [from, to] = [await open(), await open()];

        // Hold a row lock from outside so the transfer is genuinely in flight during shutdown.
        const blocker = postgres(url, { max: 1 });
        let release: () => void = () => undefined;
        const locked = new Promise<void>((resolve) => {
          void blocker.begin(async (tx) => {
            await tx`select 1 from accounts where id = ${from} for update`;
            resolve();
            await new Promise<void>((r) => (release = r));
          });
        });
        await locked;
        const inFlight = post("/transfers", { fromAccountId: from, toAccountId: to, amount: 40 });
        await new Promise((r) => setTimeout(r, 300));
        child.kill("SIGTERM");
        await new Promise((r) => setTimeout(r, 300));
        release();
        const response = await inFlight;
        expect(response.status).toBe(201);
        expect(await exitCode(child)).toBe(0);
        expect(output()).toContain("stopped");
        await blocker.end();
      } finally {
        child.kill("SIGKILL");
      }
    },
  );
});
