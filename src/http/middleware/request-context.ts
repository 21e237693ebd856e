import { randomUUID } from "node:crypto";
import {
  type IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  ServerResponse,
} from "node:http";
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { secureHeaders } from "hono/secure-headers";
import { createAccessLog, type Logger, withLogContext } from "../../logger.js";
import { SECURE_HEADERS_OPTIONS, SECURITY_HEADERS } from "../../security/headers.js";
import type { NodeBindings } from "../request-info.js";
import type { AppEnv } from "../router.js";

export interface RequestContextOptions {
  logger: Logger;
  /**
   * Also tag lines written below the HTTP layer (the database's query log) with the request id,
   * through `AsyncLocalStorage`; ADR 0005 has what it costs on Node 20 and when it is on.
   */
  propagate: boolean;
}

const SECURITY_NAMES = Object.keys(SECURITY_HEADERS);

/** Lowercase names of the headers `RequestIdResponse` adds, by length. */
const ADDED_BY_LENGTH = new Map<number, string[]>();
for (const name of ["x-request-id", ...SECURITY_NAMES]) {
  const sameLength = ADDED_BY_LENGTH.get(name.length) ?? [];
  ADDED_BY_LENGTH.set(name.length, [...sameLength, name]);
}

/**
 * The header among those `RequestIdResponse` adds that `name` spells, in any case. Only a name
 * of the same length and first letter is lowercased, so `Content-Type` (12 letters, like
 * `x-request-id`) isn't lowercased on every response.
 */
function addedHeader(name: string): string | undefined {
  const candidates = ADDED_BY_LENGTH.get(name.length);
  if (candidates === undefined) return undefined;
  const first = name.charCodeAt(0) | 0x20;
  for (const candidate of candidates) {
    if (candidate.charCodeAt(0) === first && name.toLowerCase() === candidate) return candidate;
  }
  return undefined;
}

/**
 * The Node response class of our listener (`serve({ serverOptions: LISTENER_OPTIONS })`): it
 * writes the request's `x-request-id` and the security headers (src/security/headers.ts) into
 * the headers `writeHead` receives. A header set with `setHeader` before `writeHead` makes Node
 * merge the two sets key by key (validating and lowercasing each, in a dictionary), and makes the
 * adapter's three `hasHeader` checks lowercase their names: with this class `GET /users/{id}`
 * runs 4 % fewer instructions (ADR 0010). Set through Hono, they would turn every response's
 * headers into a WHATWG `Headers`, off the adapter's fast path. Adding keys to the adapter's plain
 * object keeps Node on its direct path. A header the response already has wins, as it would over
 * `setHeader`: `/docs` keeps its own Content-Security-Policy.
 */
export class RequestIdResponse<
  Request extends IncomingMessage = IncomingMessage,
> extends ServerResponse<Request> {
  /** Set by the request context; undefined until then (and for requests it never saw). */
  requestId: string | undefined = undefined;

  override writeHead(
    statusCode: number,
    reasonOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
    headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
  ): this {
    const id = this.requestId;
    if (id === undefined) return super.writeHead(statusCode, reasonOrHeaders as string, headers);
    if (typeof reasonOrHeaders === "string") {
      return super.writeHead(statusCode, reasonOrHeaders, this.#withAdded(headers, id));
    }
    return super.writeHead(statusCode, this.#withAdded(reasonOrHeaders, id));
  }

  #withAdded(headers: OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined, id: string) {
    if (Array.isArray(headers)) {
      // The flat array form is rare: let Node merge it over ours.
      if (!this.hasHeader("x-request-id")) this.setHeader("x-request-id", id);
      for (const name of SECURITY_NAMES) {
        if (!this.hasHeader(name)) this.setHeader(name, SECURITY_HEADERS[name] as string);
      }
      return headers;
    }
    // Which of ours the response has already: set with `setHeader` (cheap to ask unless something
    // used it: Node lowercases only when there are headers), or in `headers`, in any spelling.
    let present: Set<string> | undefined;
    if (this.hasHeader("x-request-id")) present = new Set(["x-request-id"]);
    for (const name of SECURITY_NAMES) {
      if (this.hasHeader(name)) {
        present ??= new Set();
        present.add(name);
      }
    }
    for (const name in headers) {
      const added = addedHeader(name);
      if (added !== undefined) {
        present ??= new Set();
        present.add(added);
      }
    }
    if (present === undefined) return { ...SECURITY_HEADERS, "x-request-id": id, ...headers };
    const merged: OutgoingHttpHeaders = {};
    for (const name of SECURITY_NAMES) {
      if (!present.has(name)) merged[name] = SECURITY_HEADERS[name];
    }
    if (!present.has("x-request-id")) merged["x-request-id"] = id;
    return { ...merged, ...headers };
  }
}

/** `serve()`'s `serverOptions` for the app: Node responses are `RequestIdResponse`s. */
export const LISTENER_OPTIONS = { ServerResponse: RequestIdResponse };

const MAX_REQUEST_ID_LENGTH = 200;
const UNSAFE_REQUEST_ID = /[^\w\-=]/;

/**
 * The first middleware of every request, one layer instead of several (each Hono layer costs
 * promises on every request): the request id — the caller's `x-request-id` when it is short and
 * plain, a new UUID otherwise — on the response and in `c.var`; the security headers; and one
 * access line when the request completes: method, route pattern (not the raw URL, which may carry
 * ids or tokens), status and duration, at error for 5xx.
 */
export function requestContext({
  logger,
  propagate,
}: RequestContextOptions): MiddlewareHandler<AppEnv> {
  const accessLog = createAccessLog(logger);
  // The same headers as `RequestIdResponse` adds, for responses that don't go through it;
  // `overwrite: false`, so that a route's own (the /docs policy) wins there too.
  const fallbackSecurityHeaders = secureHeaders({ ...SECURE_HEADERS_OPTIONS, overwrite: false });
  return function requestContextMiddleware(c, next) {
    const started = performance.now();
    // On the Node adapter, the Node objects directly (see `outgoing` below): reading a header
    // through Hono builds a WHATWG view of the request's headers first.
    const { incoming, outgoing } = (c.env ?? {}) as NodeBindings;
    let requestId = incoming ? incoming.headers["x-request-id"] : c.req.header("x-request-id");
    if (
      typeof requestId !== "string" ||
      !requestId ||
      requestId.length > MAX_REQUEST_ID_LENGTH ||
      UNSAFE_REQUEST_ID.test(requestId)
    ) {
      requestId = randomUUID();
    }
    c.set("requestId", requestId);
    c.set("logger", logger);
    // On the Node adapter, onto the ServerResponse — added to writeHead's headers by our own
    // response class, with the security headers, else set before it: a header set through Hono
    // makes every response carry a WHATWG Headers object, which takes the adapter off its fast
    // path (about 10 % of a point read's throughput). Elsewhere (`app.request` in tests, other
    // runtimes), through Hono, and the security headers through hono/secure-headers.
    let handle = next;
    if (outgoing instanceof RequestIdResponse) outgoing.requestId = requestId;
    else {
      if (outgoing) outgoing.setHeader("x-request-id", requestId);
      else c.header("x-request-id", requestId);
      handle = () => fallbackSecurityHeaders(c, next).then(() => undefined);
    }

    const logCompletion = () =>
      accessLog({
        requestId,
        method: c.req.method,
        route: routePath(c),
        status: c.res.status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      });
    return propagate
      ? withLogContext({ requestId }, () => handle().then(logCompletion))
      : handle().then(logCompletion);
  };
}
