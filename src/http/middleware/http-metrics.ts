/**
 * `http_requests_total{method, route, status_class}` and `http_request_duration_seconds`, with
 * labels bounded by construction, whatever clients send:
 *
 * - `route` is the template the request matched (`/users/:id`), read with Hono's `routePath`
 *   after the handler ran — never the URL, so a million ids are one series; a request no route
 *   matched is `unmatched`;
 * - `method` is one of the standard methods, else `other`;
 * - `status_class` is `1xx` ... `5xx`.
 *
 * @example
 * app.use(requestContext({ logger, propagate }));
 * app.use(httpMetrics({ metrics }));
 */
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Metrics } from "../../observability/metrics.js";

export interface HttpMetricsOptions {
  metrics: Pick<Metrics, "observeRequest">;
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/** The route label of a completed request. */
export const UNMATCHED_ROUTE = "unmatched";

/**
 * The template of the route that answered `c`, once the handlers have run. `routePath(c)` is
 * the path of the last handler that ran; when no route matched, that is a catch-all middleware
 * (`*`, `/*`) and the answer is the 404 of `app.notFound`: labelled `unmatched`, so that scans
 * of random URLs add no series.
 */
export function routeTemplate(c: Context): string {
  const template = routePath(c);
  return c.res.status === 404 && template.endsWith("*") ? UNMATCHED_ROUTE : template;
}

/** `GET`, ..., or `other` for anything a client invents. */
export const methodLabel = (method: string) => (METHODS.has(method) ? method : "other");

export const statusClass = (status: number) =>
  STATUS_CLASSES[Math.floor(status / 100) - 1] ?? "other";

export function httpMetrics({ metrics }: HttpMetricsOptions): MiddlewareHandler {
  // No async function and no await: each Hono layer already costs a promise per request.
  return function httpMetricsMiddleware(c, next) {
    const started = performance.now();
    return next().then(() => {
      metrics.observeRequest(
        methodLabel(c.req.method),
        routeTemplate(c),
        statusClass(c.res.status),
        (performance.now() - started) / 1000,
      );
    });
  };
}
