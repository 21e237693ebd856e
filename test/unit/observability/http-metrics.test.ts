import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import {
  httpMetrics,
  methodLabel,
  statusClass,
} from "../../../src/http/middleware/http-metrics.js";

type Observed = [method: string, route: string, statusClass: string, seconds: number];

/** A small app with the middleware, the shapes that matter: params, a sub-router, a 500. */
function app() {
  const observed: Observed[] = [];
  const app = new Hono();
  app.use(httpMetrics({ metrics: { observeRequest: (...args) => observed.push(args) } }));
  // Catch-all middlewares, as the real app has (body limit, auth): not routes of their own.
  app.on(["POST", "PUT"], "*", (_c, next) => next());
  app.use("/items/*", (_c, next) => next());
  app.get("/items/:id", (c) => c.json({ id: c.req.param("id") }));
  app.post("/items", (c) => c.json({}, 201));
  app.get("/boom", () => {
    throw new Error("bug");
  });
  const admin = new Hono().get("/jobs/:jobId/runs/:run", (c) => c.text("ok"));
  app.route("/admin", admin);
  app.onError((_error, c) => c.text("internal", 500));
  return { app, observed };
}

describe("httpMetrics", () => {
  it("labels a request with its route template, never its URL", async () => {
    const { app: hono, observed } = app();
    await hono.request("/items/42");
    await hono.request("/admin/jobs/7/runs/3");
    await hono.request("/items", { method: "POST" });
    expect(observed.map(([m, r, s]) => [m, r, s])).toEqual([
      ["GET", "/items/:id", "2xx"],
      ["GET", "/admin/jobs/:jobId/runs/:run", "2xx"],
      ["POST", "/items", "2xx"],
    ]);
    expect(observed.every(([, , , seconds]) => seconds >= 0 && seconds < 5)).toBe(true);
  });

  it("labels any unmatched URL `unmatched`, whichever catch-all middleware it went through", async () => {
    const { app: hono, observed } = app();
    await hono.request("/nope");
    await hono.request("/items/1/unknown/deeper");
    await hono.request("/wp-login.php", { method: "POST" });
    expect(observed.map(([m, r, s]) => [m, r, s])).toEqual([
      ["GET", "unmatched", "4xx"],
      ["GET", "unmatched", "4xx"],
      ["POST", "unmatched", "4xx"],
    ]);
  });

  it("counts a handler's error as 5xx on its route, and invented methods as `other`", async () => {
    const { app: hono, observed } = app();
    await hono.request("/boom");
    await hono.request("/items/1", { method: "PURGE" });
    expect(observed.map(([m, r, s]) => [m, r, s])).toEqual([
      ["GET", "/boom", "5xx"],
      ["other", "unmatched", "4xx"],
    ]);
  });

  it("bounds methods and status classes", () => {
    expect(["GET", "DELETE", "get", "BREW", ""].map(methodLabel)).toEqual([
      "GET",
      "DELETE",
      "other",
      "other",
      "other",
    ]);
    expect([101, 204, 302, 404, 503, 99, 600].map(statusClass)).toEqual([
      "1xx",
      "2xx",
      "3xx",
      "4xx",
      "5xx",
      "other",
      "other",
    ]);
  });
});
