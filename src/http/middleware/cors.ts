/**
 * CORS for the origins in `CORS_ORIGINS` (`*` for any), through `hono/cors`: browsers on those
 * origins may call the API, with `Authorization` and `Idempotency-Key`, and read `Location`,
 * `Retry-After` and `x-request-id`. No credentials mode: the API authenticates with bearer tokens,
 * never cookies, so a page can only act with a token it was given.
 *
 * Requests without an `Origin` header (servers, CLIs, load tests: everything but browsers) skip
 * the middleware: it would otherwise add `Vary: Origin` to them through a WHATWG `Headers`, the
 * Node adapter's slow path. Responses to browsers' requests, which carry `Origin`, still get
 * `Vary: Origin`; at worst, a cache that stored an answer without it could hand a browser a
 * response lacking `Access-Control-Allow-Origin`, which the browser refuses: a failed call, never
 * a leak.
 *
 * @example
 * if (origins.length > 0) app.use(corsForOrigins(origins));
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { requestHeader } from "../request-info.js";

/** How long a browser may reuse a preflight's answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

export function corsForOrigins(origins: readonly string[]): MiddlewareHandler {
  const handler = cors({
    origin: origins.includes("*") ? "*" : [...origins],
    allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
    exposeHeaders: ["Location", "Retry-After", "WWW-Authenticate", "X-Request-Id"],
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  });
  return function corsMiddleware(c, next) {
    return requestHeader(c, "origin") === undefined ? next() : handler(c, next);
  };
}
