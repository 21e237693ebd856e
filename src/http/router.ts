import { OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { Context, Handler, Next } from "hono";
import type { Logger } from "../logger.js";
import { ValidationError } from "./problem.js";

/** Per-request values the middleware sets. */
export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    /**
     * Who is writing: the id of the request's bearer token (`token:` and 8 hex digits), set by
     * `requireToken`; unset when writes are open. The audit log records it (`app.actor`).
     */
    actor?: string;
    /** The user a per-user token names (`GET /me/*`), set by `requireActorToken`. */
    actingUserId?: string;
  };
}

/**
 * A route's handler, typed by its contract: `c.req.valid(...)` returns the route's parsed
 * request parts, and only the responses the route declares (status and body) type-check.
 *
 * @example
 * const getOne: AppRouteHandler<typeof routes.getOne> = async (c) => {
 *   const user = await getUser(db, c.req.valid("param").id);
 *   if (!user) throw new NotFoundError("user"); // problems are thrown, mapped in problem.ts
 *   return c.json(toUserDto(user), 200, JSON_UTF8); // a 201, or a missing field, won't compile
 * };
 */
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

type Outcome = { success: true; data: unknown } | { success: false; error: z.ZodError };

/** A failed validation: one 400 problem listing every field (`users.3.email`). */
function invalid(error: z.ZodError) {
  return new ValidationError(
    error.issues.map((issue) => ({
      path: issue.path.map(String).join("."),
      message: issue.message,
    })),
  );
}

/**
 * A router whose validation failures become one 400 problem listing every field
 * (`users.3.email` names the bulk item at index 3).
 *
 * Routes whose request is only `query` and/or `params` (every GET and DELETE here) are validated
 * in the route's own handler, synchronously, with the same schemas, values and errors as
 * zod-openapi's validators. Those are one Hono middleware per request part, each awaiting an
 * async parse and reading the Content-Type (which builds a WHATWG Headers from the Node request);
 * on `GET /users/{id}` they cost ~11 µs of CPU per request (ADR 0008). Routes with a body, headers,
 * cookies, route middleware or their own hook go through zod-openapi unchanged, as does the
 * OpenAPI document.
 */
export function createRouter() {
  const router = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw invalid(result.error);
    },
  });
  const openapi = router.openapi;
  router.openapi = ((
    config: RouteConfig & { hide?: boolean },
    handler: Handler,
    hook?: unknown,
  ) => {
    const { hide, middleware, ...route } = config;
    const { request } = route;
    const query = request?.query;
    const params = request?.params;
    if (
      hook !== undefined ||
      middleware !== undefined ||
      (!query && !params) ||
      request?.body ||
      request?.headers ||
      request?.cookies
    ) {
      return openapi(config, handler, hook as undefined);
    }
    if (!hide) router.openAPIRegistry.registerPath(route);
    const withParams = (c: Context, next: Next) => {
      const checking = params && validate(c, "param", params, c.req.param());
      return checking ? checking.then(() => handler(c, next)) : handler(c, next);
    };
    // zod-openapi's order: the query, then the path parameters.
    router.on(route.method, route.path.replaceAll(/\/{(.+?)}/g, "/:$1"), (c, next) => {
      const checking = query && validate(c, "query", query, queryValues(c));
      return checking ? checking.then(() => withParams(c, next)) : withParams(c, next);
    });
    return router;
  }) as unknown as typeof openapi;
  return router;
}

/** Synchronously unless the schema has async refinements, which zod refuses to run that way. */
function validate(
  c: Context,
  target: "query" | "param",
  schema: z.ZodType,
  value: unknown,
): Promise<void> | undefined {
  let outcome: Outcome;
  try {
    outcome = schema.safeParse(value);
  } catch (error) {
    if (!(error instanceof z.core.$ZodAsyncError)) throw error;
    return schema.safeParseAsync(value).then((later) => accept(c, target, later));
  }
  accept(c, target, outcome);
  return undefined;
}

function accept(c: Context, target: "query" | "param", outcome: Outcome) {
  if (!outcome.success) throw invalid(outcome.error);
  c.req.addValidatedData(target, outcome.data as Record<string, unknown>);
}

/** The query as zod-openapi's validator presents it: a repeated key's values as an array. */
function queryValues(c: Context) {
  const values: Record<string, string | string[]> = {};
  for (const [key, all] of Object.entries(c.req.queries())) {
    values[key] = all.length === 1 ? (all[0] as string) : all;
  }
  return values;
}
