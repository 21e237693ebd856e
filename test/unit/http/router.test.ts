import { createRoute, z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/http/problem.js";
import { createRouter } from "../../../src/http/router.js";

const ok = { 200: { description: "ok" } };

/** A router that answers validation failures with their field errors, as the app's onError does. */
function router() {
  const app = createRouter();
  app.onError((error, c) =>
    error instanceof ValidationError
      ? c.json({ errors: error.errors }, 400)
      : c.json({ unexpected: String(error) }, 500),
  );
  return app;
}

describe("createRouter: query and path parameters validated in the route's handler", () => {
  const app = router().openapi(
    createRoute({
      method: "get",
      path: "/items/{id}",
      request: {
        params: z.object({ id: z.uuid() }),
        query: z.object({
          limit: z.coerce.number().int().min(1).max(100).default(20),
          tag: z.union([z.string(), z.array(z.string())]).optional(),
        }),
      },
      responses: ok,
    }),
    (c) => c.json({ params: c.req.valid("param"), query: c.req.valid("query") }, 200),
  );
  const id = "6b0c8c3e-8f0a-4a53-9d47-5b6f3c1f2a10";

  it("hands the handler the parsed values, a repeated key as an array", async () => {
    const res = await app.request(`/items/${id}?limit=5&tag=a&tag=b`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ params: { id }, query: { limit: 5, tag: ["a", "b"] } });
    const defaults = await app.request(`/items/${id}`);
    expect(await defaults.json()).toEqual({ params: { id }, query: { limit: 20 } });
  });

  it("rejects a bad value with its field, the query before the path", async () => {
    const badId = await app.request("/items/not-a-uuid");
    expect(badId.status).toBe(400);
    expect(await badId.json()).toEqual({ errors: [expect.objectContaining({ path: "id" })] });
    const both = await app.request("/items/not-a-uuid?limit=0");
    expect(await both.json()).toEqual({ errors: [expect.objectContaining({ path: "limit" })] });
  });

  it("runs schemas with async refinements, which zod can't parse synchronously", async () => {
    const taken = new Set(["taken"]);
    const app = router().openapi(
      createRoute({
        method: "get",
        path: "/names/{name}",
        request: {
          params: z.object({
            name: z.string().refine(async (name) => !taken.has(name), "taken"),
          }),
        },
        responses: ok,
      }),
      (c) => c.json(c.req.valid("param"), 200),
    );
    expect(await (await app.request("/names/free")).json()).toEqual({ name: "free" });
    const res = await app.request("/names/taken");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ errors: [{ path: "name", message: "taken" }] });
  });

  it("leaves routes with a body, or their own hook, to zod-openapi", async () => {
    const app = router()
      .openapi(
        createRoute({
          method: "post",
          path: "/items/{id}",
          request: {
            params: z.object({ id: z.uuid() }),
            body: {
              content: { "application/json": { schema: z.object({ name: z.string() }) } },
              required: true,
            },
          },
          responses: ok,
        }),
        (c) => c.json(c.req.valid("json"), 200),
      )
      .openapi(
        createRoute({
          method: "get",
          path: "/hooked/{id}",
          request: { params: z.object({ id: z.uuid() }) },
          responses: { ...ok, 422: { description: "hooked" } },
        }),
        (c) => c.json({}, 200),
        (result, c) => (result.success ? undefined : c.json({ hooked: true }, 422)),
      );
    const created = await app.request(`/items/${id}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "x" }),
    });
    expect(await created.json()).toEqual({ name: "x" });
    const wrongBody = await app.request(`/items/${id}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: 1 }),
    });
    expect(await wrongBody.json()).toEqual({ errors: [expect.objectContaining({ path: "name" })] });
    const hooked = await app.request("/hooked/nope");
    expect(hooked.status).toBe(422);
  });

  it("documents the routes it validates itself as zod-openapi would", () => {
    const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    const get = doc.paths?.["/items/{id}"]?.get;
    expect(get?.parameters?.map((p) => ("name" in p ? `${p.in}:${p.name}` : ""))).toEqual([
      "path:id",
      "query:limit",
      "query:tag",
    ]);
  });
});
