/**
 * The password, as the entry points users run handle it: `npm run db:status` (src/cli/db.ts)
 * and the server (src/server.ts), each a child process against a private cluster that demands
 * SCRAM-SHA-256. Whether they connect or are refused, the password must not appear in their
 * output (logs, errors, the status report) nor in what `/metrics` serves.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testEnv } from "../../../src/env.js";
import { type Cluster, clusterUnavailable, startCluster } from "../../setup/cluster.js";

const unavailable = clusterUnavailable();

/** A random core finds a leak in any form (raw, percent-encoded, JSON-escaped). */
const secret = (label: string) => {
  const core = `${label}${randomBytes(8).toString("hex")}`;
  return { core, password: `${core}%@:/ x` };
};
const RIGHT = secret("right");
const WRONG = secret("wrong");

const expectNoPassword = (text: string) => {
  expect(text).not.toContain(RIGHT.core);
  expect(text).not.toContain(WRONG.core);
};

/** Starts a repository entry point through tsx with only `env`, collecting its output. */
function start(entry: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], {
    env: { PATH: testEnv().path, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  return { child, output: () => output };
}

async function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = await once(child, "exit");
  return code as number | null;
}

async function freePort() {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as { port: number };
  probe.close();
  return port;
}

describe.skipIf(unavailable)(`the password in child processes ${unavailable ?? ""}`, () => {
  let cluster: Cluster;
  let folder: string;
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), "pg-secrets-"));
    cluster = await startCluster({
      auth: "scram-sha-256",
      users: [{ name: "app", password: RIGHT.password }],
    });
    await cluster.admin((admin) => admin`create database app owner app`);
  });
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await cluster?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  const secretFile = (password: string) => {
    const path = join(folder, `password-${randomBytes(4).toString("hex")}`);
    writeFileSync(path, `${password}\n`, { mode: 0o600 });
    return path;
  };
  const appUrl = (password?: string) => cluster.url("app", password, { database: "app" });

  it("db:status connects with the password and prints none, nor on a wrong one", async () => {
    const run = async (env: Record<string, string>) => {
      const cli = start("src/cli/db.ts", ["status"], { NODE_ENV: "test", ...env });
      children.add(cli.child);
      return { code: await exitCode(cli.child), output: cli.output() };
    };
    const [right, wrongInUrl, wrongInFile] = await Promise.all([
      run({ DATABASE_URL: appUrl(RIGHT.password) }),
      run({ DATABASE_URL: appUrl(WRONG.password) }),
      run({ DATABASE_URL: appUrl(), DATABASE_PASSWORD_FILE: secretFile(WRONG.password) }),
    ]);
    // 3: connected, and every migration of the folder is pending on the new database.
    expect(right.code, right.output).toBe(3);
    expect(right.output).toContain("app:***@127.0.0.1");
    for (const refused of [wrongInUrl, wrongInFile]) {
      expect(refused.code, refused.output).toBe(1);
      expect(refused.output).toMatch(/password authentication failed|AuthenticationError/);
    }
    for (const { output } of [right, wrongInUrl, wrongInFile]) expectNoPassword(output);
  });

  /** The server on a free port, once it answers `/health/live`. */
  async function startServer(env: Record<string, string>) {
    const port = await freePort();
    const server = start("src/server.ts", [], {
      NODE_ENV: "production",
      API_AUTH: "off",
      LOG_LEVEL: "debug",
      DATABASE_LOG_QUERIES: "true",
      PORT: String(port),
      HOST: "127.0.0.1",
      ...env,
    });
    children.add(server.child);
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    while (
      !(await fetch(`${base}/health/live`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > deadline || server.child.exitCode !== null) {
        throw new Error(`the server did not start:\n${server.output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const get = async (path: string) => {
      const response = await fetch(`${base}${path}`);
      return { status: response.status, body: await response.text() };
    };
    const stop = async () => {
      server.child.kill("SIGTERM");
      const code = await exitCode(server.child);
      children.delete(server.child);
      return { code, output: server.output() };
    };
    return { get, stop };
  }

  it("the server uses the password file, and neither its logs nor /metrics show it", async () => {
    const server = await startServer({
      DATABASE_URL: appUrl(),
      DATABASE_PASSWORD_FILE: secretFile(RIGHT.password),
    });
    expect((await server.get("/health/ready")).status).toBe(200);
    const metrics = await server.get("/metrics");
    expect(metrics.status).toBe(200);
    // Scraping read the cluster's own statistics (max_connections = 20) with that password.
    expect(metrics.body).toMatch(/^db_server_max_connections 20$/m);
    const { code, output } = await server.stop();
    expect(code, output).toBe(0);
    expect(output).toContain('"msg":"database configured"');
    expectNoPassword(`${metrics.body}\n${output}`);
  });

  it("a server refused by the database logs why, without the password", async () => {
    const server = await startServer({ DATABASE_URL: appUrl(WRONG.password) });
    expect((await server.get("/health/ready")).status).toBe(503);
    const metrics = await server.get("/metrics");
    const { output } = await server.stop();
    const refusal = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg?: string; err?: unknown })
      .find((line) => line.msg === "readiness check failed");
    expect(refusal?.err, output).toMatchObject({ name: "AuthenticationError", code: "28P01" });
    expectNoPassword(`${metrics.body}\n${output}`);
  });
});
