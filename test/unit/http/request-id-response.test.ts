/**
 * `x-request-id` and the security headers, written by `RequestIdResponse` (the listener's response
 * class) on every kind of response the Node adapter produces, once each; and on a listener
 * without it, by `setHeader` and hono/secure-headers.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import {
  LISTENER_OPTIONS,
  RequestIdResponse,
  requestContext,
} from "../../../src/http/middleware/request-context.js";
import type { AppEnv } from "../../../src/http/router.js";
import { createLogger } from "../../../src/logger.js";
import { SECURITY_HEADERS } from "../../../src/security/headers.js";

const JSON_UTF8 = { "Content-Type": "application/json; charset=utf-8" };
const OWN_POLICY = "default-src 'self'";

function app() {
  const logger = createLogger({ logLevel: "silent", nodeEnv: "test" });
  return new Hono<AppEnv>()
    .use(requestContext({ logger, propagate: false }))
    .get("/json", (c) => c.json({ ok: true }, 200, JSON_UTF8))
    .get("/empty", (c) => c.body(null, 204))
    .get("/text", (c) => c.text("hi"))
    .get("/custom", (c) => {
      c.header("x-custom", "1");
      return c.json({ ok: true });
    })
    .get("/own-id", (c) => {
      c.header("x-request-id", "set-by-handler");
      return c.json({ ok: true });
    })
    .get("/own-policy", (c) =>
      c.html("<p>page</p>", 200, { "Content-Security-Policy": "default-src 'self'" }),
    )
    .get(
      "/stream",
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("chunk"));
              controller.close();
            },
          }),
        ),
    )
    .get("/fail", () => {
      throw new Error("boom");
    });
}

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(server: Server) {
  servers.push(server);
  if (!server.listening) await new Promise((resolve) => server.once("listening", resolve));
  return (server.address() as AddressInfo).port;
}

interface RawResponse {
  status: number;
  ids: string[];
  /** Every value sent for `name` (lowercase), in order: one, unless duplicated. */
  all(name: string): string[];
  body: string;
}

/** The raw response header lines, so that a duplicate can't hide behind `Headers` joining. */
function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<RawResponse>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => {
        const all = (name: string) => {
          const values: string[] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            if (res.rawHeaders[i]?.toLowerCase() === name) values.push(res.rawHeaders[i + 1] ?? "");
          }
          return values;
        };
        resolve({ status: res.statusCode ?? 0, ids: all("x-request-id"), all, body });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.each([
  ["with RequestIdResponse (the server's listener)", LISTENER_OPTIONS],
  ["on a plain Node listener (setHeader)", {}],
])("x-request-id %s", (_name, serverOptions) => {
  const port = listen(
    serve({ fetch: app().fetch, port: 0, hostname: "127.0.0.1", serverOptions }) as Server,
  );

  it.each([
    ["/json", 200],
    ["/empty", 204],
    ["/text", 200],
    ["/custom", 200],
    ["/stream", 200],
    ["/missing", 404],
    ["/fail", 500],
  ])("is sent once on %s (%i)", async (path, status) => {
    const echoed = await get(await port, path, { "x-request-id": "rq-7" });
    expect(echoed.status).toBe(status);
    expect(echoed.ids).toEqual(["rq-7"]);
    const generated = await get(await port, path);
    expect(generated.ids).toHaveLength(1);
    expect(generated.ids[0]).toMatch(UUID);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      expect(generated.all(name), name).toEqual([value]);
    }
  });

  it("leaves a handler's own security header alone", async () => {
    const res = await get(await port, "/own-policy");
    expect(res.all("content-security-policy")).toEqual(["default-src 'self'"]);
    expect(res.all("x-content-type-options")).toEqual(["nosniff"]);
  });

  it("leaves a handler's own x-request-id alone", async () => {
    expect((await get(await port, "/own-id", { "x-request-id": "rq-8" })).ids).toEqual([
      "set-by-handler",
    ]);
  });
});

describe("RequestIdResponse on Node's own calls", () => {
  const port = listen(
    createServer({ ServerResponse: RequestIdResponse }, (req, res) => {
      const response = res as RequestIdResponse;
      if (req.url !== "/untracked") response.requestId = "raw-1";
      if (req.url === "/reason") response.writeHead(200, "Fine", ["x-a", "1"]);
      else if (req.url === "/flat") response.writeHead(200, ["x-a", "1"]);
      else if (req.url === "/set-first") {
        response.setHeader("x-a", "1");
        response.writeHead(200, { "x-b": "2" });
      } else if (req.url === "/own-object") response.writeHead(200, { "X-Request-Id": "own" });
      else if (req.url === "/own-flat") response.writeHead(200, ["X-Request-Id", "own"]);
      else if (req.url === "/own-set") response.setHeader("X-Request-Id", "own");
      else if (req.url === "/own-policy-object") {
        response.writeHead(200, {
          "Content-Security-Policy": OWN_POLICY,
          "Content-Type": "text/plain",
        });
      } else if (req.url === "/own-policy-flat") {
        response.writeHead(200, ["Content-Security-Policy", OWN_POLICY]);
      } else if (req.url === "/own-policy-set")
        response.setHeader("CONTENT-SECURITY-POLICY", OWN_POLICY);
      // Otherwise nothing: `end` writes the head implicitly.
      response.end("done");
    }).listen(0, "127.0.0.1"),
  );

  it.each(["/reason", "/flat", "/set-first", "/implicit"])(
    "adds the id once on %s",
    async (path) => {
      const res = await get(await port, path);
      expect(res.status).toBe(200);
      expect(res.ids).toEqual(["raw-1"]);
      expect(res.body).toBe("done");
    },
  );

  it.each(["/own-object", "/own-flat", "/own-set"])(
    "leaves the response's own id alone on %s",
    async (path) => {
      expect((await get(await port, path)).ids).toEqual(["own"]);
    },
  );

  it.each(["/reason", "/flat", "/set-first", "/implicit"])(
    "adds each security header once on %s",
    async (path) => {
      const res = await get(await port, path);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
        expect(res.all(name), name).toEqual([value]);
      }
    },
  );

  it.each(["/own-policy-object", "/own-policy-flat", "/own-policy-set"])(
    "leaves the response's own security header alone, in any spelling, on %s",
    async (path) => {
      const res = await get(await port, path);
      expect(res.all("content-security-policy")).toEqual([OWN_POLICY]);
      expect(res.all("x-content-type-options")).toEqual(["nosniff"]);
      expect(res.ids).toEqual(["raw-1"]);
    },
  );

  it("adds nothing to a response the request context never saw", async () => {
    const res = await get(await port, "/untracked");
    expect(res.ids).toEqual([]);
    expect(res.all("x-content-type-options")).toEqual([]);
  });
});
