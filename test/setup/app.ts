import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { serve } from "@hono/node-server";
import { testClient } from "hono/testing";
import { expect } from "vitest";
import type { Database } from "../../src/db/client.js";
import { type AppDeps, createApp } from "../../src/http/app.js";
import { LISTENER_OPTIONS } from "../../src/http/middleware/request-context.js";
import { createLogger } from "../../src/logger.js";
import { allCapturedLogs } from "./captured-logs.js";

/** Log lines captured from the app, so tests can assert on them (and on their absence). */
export function captureLogs(logLevel: "info" | "debug" = "info") {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) {
        if (!line) continue;
        const parsed = JSON.parse(line);
        lines.push(parsed);
        allCapturedLogs.push(parsed);
      }
      done();
    },
  });
  return { lines, logger: createLogger({ logLevel, nodeEnv: "test" }, stream) };
}

/**
 * The real app on the given database, with logs captured instead of printed:
 * - `client`: `testClient(app)` from `hono/testing`, in-process and typed by the routes'
 *   contracts — paths, params, query, headers and JSON bodies are checked at compile time;
 * - `raw`: `app.request` with a JSON body, for what the typed client refuses to express (a
 *   malformed or deliberately ill-typed body, a route outside the contract).
 *
 * Without `options.security` writes are open and nothing is rate limited, as in development;
 * test/integration/security builds apps with tokens and limits.
 */
export function createTestApp(
  database: Database,
  logs = captureLogs(),
  options: Pick<AppDeps, "security" | "onSecurityEvent"> = {},
) {
  const app = createApp({ database, logger: logs.logger, ...options });
  const raw = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const response = await app.request(path, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : undefined,
    };
  };
  return { app, client: testClient(app), logs: logs.lines, raw };
}

/**
 * Serves `app` on a real listener (127.0.0.1, a free port), as `src/server.ts` does.
 *
 * @example
 * const server = await listen(app);
 * await fetch(`${server.url}/health/live`);
 * await server.close();
 */
export async function listen(app: { fetch: Parameters<typeof serve>[0]["fetch"] }) {
  const server = serve({
    fetch: app.fetch,
    port: 0,
    hostname: "127.0.0.1",
    serverOptions: LISTENER_OPTIONS,
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A test file's app on its database, built on first use (after the database's `beforeAll`). */
export function useTestApp(testDb: { readonly database: Database }) {
  let built: ReturnType<typeof createTestApp> | undefined;
  const get = () => {
    built ??= createTestApp(testDb.database);
    return built;
  };
  return {
    get app() {
      return get().app;
    },
    get client() {
      return get().client;
    },
    get raw() {
      return get().raw;
    },
  };
}

interface AnyResponse {
  status: number;
  text(): Promise<string>;
}

/**
 * Asserts a typed client response's status and returns its body, typed by the route's contract
 * for that status; a status the route doesn't declare doesn't compile. A mismatch shows the body.
 *
 * @example
 * const user = await expectStatus(client.users.$post({ json: { email, name } }), 201);
 * const problem = await expectStatus(client.users[":id"].$get({ param: { id } }), 404);
 */
export async function expectStatus<R extends AnyResponse, S extends R["status"]>(
  response: R | Promise<R>,
  status: S,
): Promise<BodyOf<Extract<R, { status: S }>>> {
  const res = await response;
  const text = await res.text();
  expect(res.status, `${res.status} ${text}`).toBe(status);
  // An empty body (204) is only declared, and so typed, as `unknown`.
  return (text ? JSON.parse(text) : undefined) as BodyOf<Extract<R, { status: S }>>;
}

type BodyOf<R> = R extends { json(): Promise<infer T> } ? T : never;
