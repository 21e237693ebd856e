/**
 * The routes' contracts are enforced by the compiler: a handler typed `AppRouteHandler<route>`
 * can only answer the statuses and bodies its route declares, and the app's typed client only
 * sends the inputs the routes accept. Each `@ts-expect-error` below fails `tsc` (npm run
 * typecheck) if that check is ever lost, e.g. by a handler type widened to plain `Handler`.
 */
import type { testClient } from "hono/testing";
import { describe, expectTypeOf, it } from "vitest";
import type { App } from "../../../src/http/app.js";
import { JSON_UTF8 } from "../../../src/http/openapi-helpers.js";
import type { AppRouteHandler } from "../../../src/http/router.js";
import type * as users from "../../../src/http/routes/users/users.routes.js";

type GetUser = AppRouteHandler<typeof users.getOne>;
type Client = ReturnType<typeof testClient<App>>;

const user = {
  id: "6b0c8c3e-8f0a-4a53-9d47-5b6f3c1f2a10",
  email: "ada@example.com",
  name: "Ada",
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
};

describe("typed route handlers", () => {
  it("accept the declared response and give the parsed inputs their types", () => {
    const handler: GetUser = (c) => {
      expectTypeOf(c.req.valid("param")).toEqualTypeOf<{ id: string }>();
      return c.json(user, 200, JSON_UTF8);
    };
    expectTypeOf(handler).toBeFunction();
  });

  it("reject a status or a body the contract doesn't declare", () => {
    // @ts-expect-error GET /users/{id} declares no 201
    const wrongStatus: GetUser = (c) => c.json(user, 201, JSON_UTF8);
    // @ts-expect-error a user without its timestamps is not the declared body
    const missingField: GetUser = (c) => c.json({ id: user.id, email: "", name: "" }, 200);
    // @ts-expect-error the route has no JSON body to read
    const noBody: GetUser = (c) => c.json(c.req.valid("json"), 200);
    expectTypeOf([wrongStatus, missingField, noBody]).toBeArray();
  });
});

describe("the typed test client", () => {
  it("types each response body by its status", () => {
    type Response = Awaited<ReturnType<Client["users"][":id"]["$get"]>>;
    expectTypeOf<Extract<Response, { status: 200 }>["json"]>().returns.resolves.toEqualTypeOf<
      typeof user
    >();
    expectTypeOf<Extract<Response, { status: 404 }>["json"]>()
      .returns.resolves.toHaveProperty("code")
      .toEqualTypeOf<string>();
  });

  it("refuses inputs the routes don't accept", () => {
    // Never called: the calls exist for the compiler.
    const calls = (client: Client) => [
      // @ts-expect-error email must be a string
      client.users.$post({ json: { email: 1, name: "Ada" } }),
      // @ts-expect-error the path parameter is required
      client.users[":id"].$get({}),
      // @ts-expect-error no such route
      client.user.$get(),
    ];
    expectTypeOf(calls).toBeFunction();
  });
});
