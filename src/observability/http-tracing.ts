/**
 * A server span per HTTP request, named `METHOD /route/:template`, active while the request is
 * handled so that the queries it sends become its children. Registered by `createApp` only when
 * tracing is on.
 *
 * Attributes follow OpenTelemetry's HTTP conventions, minus the URL: `http.request.method`,
 * `http.route` (the template, as in the metrics), `http.response.status_code`, and `error.type`
 * with an error status for 5xx. The URL itself is not recorded: it may carry ids or tokens.
 *
 * A trace started upstream is continued when a propagator is registered (e.g.
 * `propagation.setGlobalPropagator(new W3CTraceContextPropagator())` from @opentelemetry/core);
 * without one, every request starts a trace.
 *
 * @example
 * if (tracing) app.use(httpTracing({ tracing }));
 */
import type { IncomingMessage } from "node:http";
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";
import type { Context, MiddlewareHandler } from "hono";
import { methodLabel, routeTemplate, UNMATCHED_ROUTE } from "../http/middleware/http-metrics.js";
import { safeException } from "./report-error.js";
import type { Tracing } from "./tracing.js";

/** Reads propagation headers from the Node request when there is one (cheaper than Hono's). */
const headers: TextMapGetter<Context> = {
  keys: (c) => Object.keys(incoming(c)?.headers ?? {}),
  get: (c, key) => {
    const node = incoming(c);
    return node ? node.headers[key] : c.req.header(key);
  },
};
const incoming = (c: Context) => (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;

export function httpTracing({ tracing }: { tracing: Pick<Tracing, "tracer"> }): MiddlewareHandler {
  const { tracer } = tracing;
  return function httpTracingMiddleware(c, next) {
    const method = methodLabel(c.req.method);
    const parent = propagation.extract(context.active(), c, headers);
    const span = tracer.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: { "http.request.method": method === "other" ? "_OTHER" : method },
      },
      parent,
    );
    const finish = () => {
      const route = routeTemplate(c);
      const status = c.res.status;
      if (route !== UNMATCHED_ROUTE) {
        span.updateName(`${method} ${route}`);
        span.setAttribute("http.route", route);
      }
      span.setAttribute("http.response.status_code", status);
      if (status >= 500) {
        // `c.error`: what the app's error handler turned into this response, if anything.
        const error = c.error === undefined ? undefined : safeException(c.error);
        span.setAttribute("error.type", error?.name ?? String(status));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          ...(error ? { message: error.message } : {}),
        });
      }
      span.end();
    };
    return context.with(trace.setSpan(parent, span), next).then(finish, (error: unknown) => {
      const safe = safeException(error);
      span.recordException(safe);
      span.setStatus({ code: SpanStatusCode.ERROR, message: safe.message });
      span.end();
      throw error;
    });
  };
}
