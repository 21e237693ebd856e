/**
 * `GET /metrics`: the Prometheus text format, on the app's own port. Not an API route, so not
 * in the OpenAPI document.
 *
 * With a token (`METRICS_TOKEN`) the scrape must send `Authorization: Bearer <token>`; anything
 * else — no header, another scheme, a wrong token — is a 401 problem+json with
 * `WWW-Authenticate: Bearer`. Tokens are compared in constant time (as SHA-256 digests, so that
 * not even the length leaks). Prometheus sends it with `authorization: { credentials: ... }`
 * in the scrape config (docs/observability.md).
 *
 * @example
 * app.route("/", createMetricsRouter({ metrics, token: config.metrics.token }));
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import type { Metrics } from "../../../observability/metrics.js";
import { problem, sendProblem } from "../../problem.js";
import type { AppEnv } from "../../router.js";

export interface MetricsRouteOptions {
  metrics: Pick<Metrics, "render" | "contentType">;
  /** Required bearer token; undefined: the endpoint is open. */
  token?: string | undefined;
}

/** RFC 6750's `b64token`, after a case-insensitive `Bearer` and one space. */
const BEARER = /^Bearer ([\w\-.~+/]+=*)$/i;

const digest = (text: string) => createHash("sha256").update(text).digest();

export function createMetricsRouter({ metrics, token }: MetricsRouteOptions) {
  const expected = token === undefined ? undefined : digest(token);
  return new Hono<AppEnv>().get("/metrics", async (c) => {
    if (expected) {
      const header = c.req.header("authorization");
      const presented = header === undefined ? undefined : BEARER.exec(header)?.[1];
      if (presented === undefined) {
        return sendProblem(
          c,
          problem(401, "unauthorized", "send the metrics token as Authorization: Bearer <token>"),
          { "www-authenticate": 'Bearer realm="metrics"' },
        );
      }
      if (!timingSafeEqual(digest(presented), expected)) {
        return sendProblem(c, problem(401, "unauthorized", "the metrics token is not valid"), {
          "www-authenticate": 'Bearer realm="metrics", error="invalid_token"',
        });
      }
    }
    return c.body(await metrics.render(), 200, {
      "content-type": metrics.contentType,
      "cache-control": "no-store",
    });
  });
}
