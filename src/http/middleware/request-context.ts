import { randomUUID } from "node:crypto";
import {
  type IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  ServerResponse,
} from "node:http";
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { createAccessLog, type Logger, withLogContext } from "../../logger.js";
import type { AppEnv } from "../router.js";

export interface RequestContextOptions {
  logger: Logger;
  /**
   * Also tag lines written below the HTTP layer (the database's query log) with the request id,
   * through `AsyncLocalStorage`; ADR 0005 has what it costs on Node 20 and when it is on.
   */
  propagate: boolean;
}

/** What @hono/node-server passes as `c.env`; absent under `app.request` and other runtimes. */
interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

/**
 * The Node response class of our listener (`serve({ serverOptions: LISTENER_OPTIONS })`): it
 * writes the request's `x-request-id` into the headers `writeHead` receives. A header set with
 * `setHeader` before `writeHead` makes Node merge the two sets key by key (validating and
 * lowercasing each, in a dictionary), and makes the adapter's three `hasHeader` checks lowercase
 * their names: with this class `GET /users/{id}` runs 4 % fewer instructions (ADR 0010). Adding
 * one key to the adapter's plain object keeps Node on its direct path. A header the response
 * already has wins, as it would over `setHeader`.
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
      return super.writeHead(statusCode, reasonOrHeaders, this.#withId(headers, id));
    }
    return super.writeHead(statusCode, this.#withId(reasonOrHeaders, id));
  }

  #withId(headers: OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined, id: string) {
    // Cheap unless something used `setHeader` (Node lowercases only when there are headers).
    if (this.hasHeader("x-request-id")) return headers;
    if (headers === undefined) return { "x-request-id": id };
    if (Array.isArray(headers)) {
      // The flat array form is rare: let Node merge it over ours.
      this.setHeader("x-request-id", id);
      return headers;
    }
    for (const name in headers) {
      // Any spelling; the first letter is checked first, so `Content-Type` (also 12) isn't
      // lowercased on every response.
      if (name.length === 12 && (name[0] === "x" || name[0] === "X")) {
        if (name.toLowerCase() === "x-request-id") return headers;
      }
    }
    return { "x-request-id": id, ...headers };
  }
}

/** `serve()`'s `serverOptions` for the app: Node responses are `RequestIdResponse`s. */
export const LISTENER_OPTIONS = { ServerResponse: RequestIdResponse };

const MAX_REQUEST_ID_LENGTH = 200;
const UNSAFE_REQUEST_ID = /[^\w\-=]/;

/**
 * The first middleware of every request, one layer instead of three (each Hono layer costs
 * promises on every request): the request id — the caller's `x-request-id` when it is short and
 * plain, a new UUID otherwise — on the response and in `c.var`; and one access line when the
 * request completes: method, route pattern (not the raw URL, which may carry ids or tokens),
 * status and duration, at error for 5xx.
 */
export function requestContext({
  logger,
  propagate,
}: RequestContextOptions): MiddlewareHandler<AppEnv> {
  const accessLog = createAccessLog(logger);
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
    // response class, else set before it: a header set through Hono makes every response carry
    // a WHATWG Headers object, which takes the adapter off its fast path (about 10 % of a point
    // read's throughput). Elsewhere (`app.request` in tests, other runtimes), through Hono.
    if (outgoing instanceof RequestIdResponse) outgoing.requestId = requestId;
    else if (outgoing) outgoing.setHeader("x-request-id", requestId);
    else c.header("x-request-id", requestId);

    const logCompletion = () =>
      accessLog({
        requestId,
        method: c.req.method,
        route: routePath(c),
        status: c.res.status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      });
    return propagate
      ? withLogContext({ requestId }, () => next().then(logCompletion))
      : next().then(logCompletion);
  };
}
