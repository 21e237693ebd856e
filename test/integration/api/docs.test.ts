/**
 * `/docs` is served by the app itself (Swagger UI from the installed swagger-ui-dist, no CDN)
 * under a Content-Security-Policy that allows only the app's own origin. Raw requests
 * throughout: the page and its assets are not API routes, so not in the typed client.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const testDb = useTestDatabase();
const api = useTestApp(testDb);
const get = (path: string, headers: Record<string, string> = {}) =>
  api.app.request(path, { headers });
const packageFile = (name: string) =>
  readFile(createRequire(import.meta.url).resolve(`swagger-ui-dist/${name}`));

/** The policy's directives by name, e.g. `{ "script-src": ["'self'"] }`. */
function directives(policy: string | null) {
  return Object.fromEntries(
    (policy ?? "")
      .split(";")
      .map((part) => part.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...sources]) => [name, sources]),
  );
}

function expectStrictPolicy(res: Response) {
  const policy = res.headers.get("content-security-policy");
  const csp = directives(policy);
  expect(csp["default-src"]).toEqual(["'none'"]);
  expect(csp["script-src"]).toEqual(["'self'"]);
  expect(csp["style-src"]).toEqual(["'self'"]);
  expect(csp["connect-src"]).toEqual(["'self'"]);
  // Swagger UI's stylesheet embeds its icons as data: URIs; images only.
  expect(csp["img-src"]).toEqual(["'self'", "data:"]);
  expect(csp["frame-ancestors"]).toEqual(["'none'"]);
  expect(policy).not.toMatch(/unsafe-|https?:|\*/);
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
}

describe("GET /docs", () => {
  it("answers an HTML page under a 'self'-only Content-Security-Policy", async () => {
    const res = await get("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html; charset=utf-8$/i);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expectStrictPolicy(res);
  });

  it("has no inline script and loads everything from the app's own /docs/assets", async () => {
    const page = await (await get("/docs")).text();
    const scripts = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, content] of scripts) {
      expect(attributes).toMatch(/\bsrc="/);
      expect(content?.trim()).toBe("");
    }
    const urls = [...page.matchAll(/\b(?:src|href)="([^"]+)"/g)].map(([, url]) => url);
    expect(urls.length).toBeGreaterThanOrEqual(4);
    for (const url of urls) expect(url).toMatch(/^\/docs\/assets\/[\w.-]+$/);
    for (const url of urls) expect((await get(url as string)).status, url).toBe(200);
  });
});

describe("GET /docs/assets/*", () => {
  it.each([
    ["swagger-ui.css", /^text\/css; charset=utf-8$/],
    ["swagger-ui-bundle.js", /^text\/javascript; charset=utf-8$/],
    ["favicon-32x32.png", /^image\/png$/],
  ])("serves %s from the installed swagger-ui-dist", async (name, contentType) => {
    const res = await get(`/docs/assets/${name}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(contentType);
    expectStrictPolicy(res);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(await packageFile(name))).toBe(true);
  });

  it("serves the init script, which points Swagger UI at the served OpenAPI document", async () => {
    const res = await get("/docs/assets/init.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/javascript; charset=utf-8$/);
    expectStrictPolicy(res);
    const script = await res.text();
    expect(script).toContain("SwaggerUIBundle(");
    const specUrl = /url: "([^"]+)"/.exec(script)?.[1];
    expect(specUrl).toBe("/openapi.json");
    const spec = await get(specUrl as string);
    expect(spec.status).toBe(200);
    expect(((await spec.json()) as { openapi: string }).openapi).toBe("3.1.0");
  });

  it("lets a browser revalidate: 304 for the ETag it holds, still with x-request-id", async () => {
    const first = await get("/docs/assets/swagger-ui-bundle.js");
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.headers.get("cache-control")).toBe("no-cache");
    const again = await get("/docs/assets/swagger-ui-bundle.js", { "if-none-match": etag ?? "" });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("etag")).toBe(etag);
    expect(again.headers.get("x-request-id")).toBeTruthy();
  });

  it.each(["index.html", "swagger-initializer.js", "package.json", "..%2Fpackage.json", "nope.js"])(
    "answers 404 problem+json for %s, which is not served",
    async (name) => {
      const res = await get(`/docs/assets/${name}`);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    },
  );
});
