/**
 * The server process and its write protection as users run it: a production server refuses to
 * start without API_TOKENS (unless API_AUTH=off), and with tokens, serves writes to their holders
 * only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { testEnv } from "../../../src/env.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";

const TOKEN = "process-token-0123456789abcdef01234567";
const testDb = useTestDatabase();

function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    env: { PATH: testEnv().path, NODE_ENV: "production", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  return { child, output: () => output };
}

async function exitCode(child: ChildProcess) {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = await once(child, "exit");
  return code as number;
}

async function freePort() {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as { port: number };
  probe.close();
  return port;
}

/** Starts the server on the test database and waits until it answers; stops it after `use`. */
async function withServer(env: Record<string, string>, use: (base: string) => Promise<void>) {
  const port = await freePort();
  const { child, output } = startServer({
    DATABASE_URL: testDb.url as string,
    HOST: "127.0.0.1",
    PORT: String(port),
    ...env,
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 30_000;
    while (
      !(await fetch(`${base}/health/live`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(output());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await use(base);
    child.kill("SIGTERM");
    expect(await exitCode(child)).toBe(0);
    return output();
  } finally {
    child.kill("SIGKILL");
  }
}

const postUser = (base: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/users`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ email: `proc-${Date.now()}-${Math.random()}@example.com`, name: "P" }),
  }).then((res) => res.status);

describe("server process: write protection", () => {
  it("refuses to start in production without API_TOKENS, saying what to set", async () => {
    const { child, output } = startServer({ PGLITE_DATA_DIR: "memory://" });
    expect(await exitCode(child)).not.toBe(0);
    expect(output()).toContain("API_TOKENS");
    expect(output()).toContain("API_AUTH=off");
    expect(output()).not.toContain("listening");
  });

  it("refuses a token list it can't use, without printing the tokens", async () => {
    const { child, output } = startServer({ API_TOKENS: `${TOKEN},too-short-secret` });
    expect(await exitCode(child)).not.toBe(0);
    expect(output()).toContain("API_TOKENS.1");
    expect(output()).not.toContain("too-short-secret");
    expect(output()).not.toContain(TOKEN);
  });

  it.skipIf(!onRealServer())(
    `serves writes to token holders only, reads to anyone (${NEEDS_SERVER})`,
    async () => {
      const output = await withServer({ API_TOKENS: TOKEN }, async (base) => {
        expect(await postUser(base)).toBe(401);
        expect(await postUser(base, { authorization: `Bearer ${TOKEN}` })).toBe(201);
        expect((await fetch(`${base}/users?limit=1`)).status).toBe(200);
      });
      expect(output).not.toContain("API_TOKENS is unset");
      expect(output).not.toContain(TOKEN);
    },
  );

  it.skipIf(!onRealServer())(
    `with API_AUTH=off, serves open writes and warns at start (${NEEDS_SERVER})`,
    async () => {
      const output = await withServer({ API_AUTH: "off" }, async (base) => {
        expect(await postUser(base)).toBe(201);
      });
      expect(output).toContain("API_TOKENS is unset");
    },
  );
});
