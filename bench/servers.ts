/**
 * Shared plumbing of the HTTP benchmarks (bench/http/throughput.ts, bench/cache.ts): starting a
 * compiled server with the node flags `npm start` uses, waiting until it answers, stopping it,
 * and adding up a server's measurement slices.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { median } from "./harness.js";

/** One measurement of one server: a slice, or a round's slices combined. */
export interface Run {
  rps: number;
  p99: number;
  errors: number;
  requests: number;
  seconds: number;
}

/** A server's slices of one round: their requests over their time; the median slice's p99. */
export function combine(parts: Run[]): Run {
  const requests = parts.reduce((sum, part) => sum + part.requests, 0);
  const seconds = parts.reduce((sum, part) => sum + part.seconds, 0);
  return {
    rps: requests / seconds,
    p99: median(parts.map((part) => part.p99)),
    errors: parts.reduce((sum, part) => sum + part.errors, 0),
    requests,
    seconds,
  };
}

/** The node flags `npm start` uses, for every server alike. */
const NODE_FLAGS = ["--max-semi-space-size=32"];

/** Starts a compiled server script with only `childEnv`. */
export function startServer(script: string, childEnv: Record<string, string>): ChildProcess {
  // Output is discarded but still produced: the demo pays for its access log as in production.
  return spawn(process.execPath, [...NODE_FLAGS, script], { env: childEnv, stdio: "ignore" });
}

export function stopServer(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Waits until `url` answers 2xx (20 s at most). */
export async function serverReady(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not come up`);
}
