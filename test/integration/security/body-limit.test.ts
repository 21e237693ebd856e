/**
 * Oversize bodies over a real listener, from a client that keeps sending: every one of them must
 * get its 413 problem+json, not a reset connection (EPIPE, ECONNRESET) halfway through its upload.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SecurityEvent } from "../../../src/security/events.js";
import { captureLogs, createTestApp, listen } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const TOKEN = "body-token-0123456789abcdef0123456789";
const MiB = 1024 * 1024;
const testDb = useTestDatabase();
const logs = captureLogs();
const events: SecurityEvent[] = [];
let server: Awaited<ReturnType<typeof listen>>;

beforeAll(async () => {
  const { app } = createTestApp(testDb.database, logs, {
    security: { apiTokens: [TOKEN] },
    onSecurityEvent: (event) => events.push(event),
  });
  server = await listen(app);
});
afterAll(() => server.close());

interface Outcome {
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  /** An error the client saw at any point: writing the body or reading the answer. */
  error?: string;
}

/**
 * POSTs `bytes` bytes to `path` with node:http, 64 KiB at a time: with `Content-Length` unless
 * `chunked`, or with only `declared` in the header and the bytes never finished. `pauseMs` after
 * each MiB plays a client on a slower link, still sending long after the server could answer.
 * Settles once the body is written and the answer read, or on the first error.
 */
function upload(
  path: string,
  bytes: number,
  {
    chunked = false,
    declared,
    pauseMs = 0,
  }: { chunked?: boolean; declared?: number; pauseMs?: number } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = {};
    let written = declared !== undefined;
    let answered = false;
    const settle = () => {
      if (written && answered) resolve(outcome);
    };
    const headers: Record<string, string> = {
      "content-type": "application/json",
      authorization: `Bearer ${TOKEN}`,
    };
    if (!chunked) headers["content-length"] = String(declared ?? bytes);
    const req = request(`${server.url}${path}`, { method: "POST", headers });
    req.on("response", (res) => {
      outcome.status = res.statusCode;
      outcome.headers = res.headers;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        outcome.body = body;
        answered = true;
        settle();
      });
    });
    req.on("finish", () => {
      written = true;
      settle();
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      outcome.error = error.code ?? error.message;
      resolve(outcome);
    });
    const chunk = Buffer.alloc(64 * 1024, " ");
    let sent = 0;
    const pump = () => {
      while (sent < bytes && !req.destroyed) {
        const size = Math.min(chunk.length, bytes - sent);
        sent += size;
        const flowing = req.write(chunk.subarray(0, size));
        if (pauseMs > 0 && sent % MiB === 0) {
          setTimeout(pump, pauseMs);
          return;
        }
        if (!flowing) {
          req.once("drain", pump);
          return;
        }
      }
      if (declared === undefined) req.end();
    };
    pump();
  });
}

function expectTooLarge(outcome: Outcome) {
  expect(outcome.error, "the client saw an error").toBeUndefined();
  expect(outcome.status).toBe(413);
  expect(outcome.headers?.["content-type"]).toBe("application/problem+json; charset=utf-8");
  expect(JSON.parse(outcome.body ?? "{}")).toMatchObject({
    status: 413,
    code: "payload_too_large",
  });
}

describe("an oversize body", () => {
  it("gets its 413 every time, however long the client keeps sending (17 MiB, 20 times)", async () => {
    for (let run = 0; run < 20; run++) {
      // Every other run from a slower client: past the half second the Node adapter drains for.
      const outcome = await upload("/users/bulk", 17 * MiB, { pauseMs: run % 2 === 0 ? 0 : 40 });
      expectTooLarge(outcome);
      // Read to the end: the connection stays usable.
      expect(outcome.headers?.connection).not.toBe("close");
    }
  }, 180_000);

  it("gets its 413 when sent chunked, without a Content-Length", async () => {
    for (let run = 0; run < 3; run++)
      expectTooLarge(await upload("/users/bulk", 17 * MiB, { chunked: true }));
    expectTooLarge(await upload("/users", (3 * MiB) / 2, { chunked: true }));
  }, 60_000);

  it("is answered at once, closing the connection, when it declares more than twice the limit", async () => {
    const started = performance.now();
    const outcome = await upload("/users/bulk", 64 * 1024, { declared: 64 * MiB });
    expect(outcome.status).toBe(413);
    expect(outcome.headers?.connection).toBe("close");
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("is logged as body.too_large and reported to onSecurityEvent", async () => {
    logs.lines.length = 0;
    events.length = 0;
    expectTooLarge(await upload("/users", 2 * MiB));
    expect(events).toEqual(["body.too_large"]);
    expect(logs.lines.filter((line) => line.event === "body.too_large")).toMatchObject([
      { level: 30, limitBytes: MiB, declaredBytes: 2 * MiB, drained: true },
    ]);
  });
});

describe("a body within the limit", () => {
  it("is served when sent chunked, without a Content-Length", async () => {
    const users = Array.from({ length: 50 }, (_, i) => ({
      email: `chunked-${Date.now()}-${i}@example.com`,
      name: `C${i}`,
    }));
    const outcome = await new Promise<Outcome>((resolve) => {
      const req = request(`${server.url}/users/bulk`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
      });
      const json = JSON.stringify({ users });
      req.write(json.slice(0, 100));
      req.end(json.slice(100));
    });
    expect(outcome.headers?.["transfer-encoding"]).toBeUndefined();
    expect(outcome.status).toBe(201);
    expect(JSON.parse(outcome.body ?? "{}")).toEqual({ inserted: 50 });
  });
});
