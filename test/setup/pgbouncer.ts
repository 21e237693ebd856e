/**
 * A private PgBouncer (Debian's `pgbouncer`) in front of the test server, for the tests that
 * prove the data layer through a transaction pooler and show what can't work through one.
 *
 * `startPgBouncer` writes a configuration to a new temporary folder, starts PgBouncer on a free
 * port (as the `postgres` user when run as root: PgBouncer refuses root) and waits until it
 * answers; `stop()` stops it and removes the folder, and an exit handler does the same for one
 * a failing test left running. Every database name is forwarded to the same name upstream, as
 * the upstream URL's user (`auth_type = any`: the test server trusts local connections).
 *
 * @example
 * const pgbouncer = await startPgBouncer({ upstream: testDb.url, poolSize: 2 });
 * const url = pgbouncer.url(testDb.url); // same database, through PgBouncer
 * await pgbouncer.stop();
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testEnv } from "../../src/env.js";
import { freePort } from "./cluster.js";

const BINARY = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].find((path) => existsSync(path));

export interface PgBouncer {
  readonly port: number;
  /** `databaseUrl` (a URL of the upstream server) rewritten to go through PgBouncer. */
  url(databaseUrl: string): string;
  /** PgBouncer's log so far (for a failing test's message). */
  log(): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** A URL of the server PgBouncer forwards to (host, port and user are used). */
  upstream: string;
  /** Server connections per database and user (`default_pool_size`). */
  poolSize?: number;
  mode?: "transaction" | "session";
}

/**
 * Why PgBouncer can't be started here, for `describe.skipIf`; undefined when it can. With CI=true
 * a missing binary throws instead, so CI never passes by skipping (.ci/run installs it).
 */
export function pgbouncerUnavailable(): string | undefined {
  const reason = BINARY ? undefined : "no pgbouncer binary (Debian package pgbouncer)";
  if (reason && testEnv().ci) throw new Error(`CI=true: PgBouncer is required: ${reason}`);
  return reason && `skipped: ${reason}`;
}

const running = new Set<{ dir: string; pidFile: string }>();
let exitHandlerInstalled = false;

function stopSync(instance: { dir: string; pidFile: string }) {
  try {
    const pid = Number(readFileSync(instance.pidFile, "utf8").trim());
    if (pid > 0) process.kill(pid, "SIGINT");
  } catch {
    // not started, or already gone
  }
  rmSync(instance.dir, { recursive: true, force: true });
  running.delete(instance);
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  if (!BINARY) throw new Error(pgbouncerUnavailable());
  const upstream = new URL(options.upstream);
  const dir = mkdtempSync(join(tmpdir(), "pgbouncer-"));
  const port = await freePort();
  const pidFile = join(dir, "pgbouncer.pid");
  const logFile = join(dir, "pgbouncer.log");
  const user = decodeURIComponent(upstream.username) || "postgres";
  writeFileSync(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=${upstream.hostname} port=${upstream.port || 5432} user=${user}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = any",
      `pool_mode = ${options.mode ?? "transaction"}`,
      `default_pool_size = ${options.poolSize ?? 2}`,
      "max_client_conn = 500",
      // Sent by some drivers at connect; PgBouncer refuses unknown startup parameters.
      "ignore_startup_parameters = extra_float_digits",
      `logfile = ${logFile}`,
      `pidfile = ${pidFile}`,
    ].join("\n"),
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    chownSync(dir, uid, -1);
  }
  const args = ["-d", ...(asRoot ? ["-u", "postgres"] : []), join(dir, "pgbouncer.ini")];
  const started = spawnSync(BINARY, args, { encoding: "utf8" });
  if (started.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pgbouncer did not start: ${started.stderr || started.stdout}`);
  }
  const instance = { dir, pidFile };
  running.add(instance);
  if (!exitHandlerInstalled) {
    exitHandlerInstalled = true;
    process.once("exit", () => {
      for (const left of running) stopSync(left);
    });
  }
  await waitForPort(port, 10_000);
  return {
    port,
    url(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = "127.0.0.1";
      url.port = String(port);
      return url.toString();
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    async stop() {
      stopSync(instance);
    },
  };
}

async function waitForPort(port: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
