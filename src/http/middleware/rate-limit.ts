/**
 * Per-client rate limiting: a request over its client's budget is answered 429 problem+json
 * (`code: "rate_limited"`) with `Retry-After` in seconds, before authentication, so that guessing
 * tokens is limited too.
 *
 * The client is the bearer token when the request carries a valid one (every holder of a token
 * shares its budget, wherever they connect from), else the connection's address (`clientAddress`;
 * IPv6 by /64). An invalid token counts against the address: sending random tokens earns no
 * fresh budget. `/health/*` is exempt: load balancers poll it, possibly from the address all
 * proxied traffic comes from, and an instance must not look down because its proxy is busy.
 *
 * The first refusal of a run is logged at info as `event: "rate_limit.hit"` (a flood writes one
 * line, not one per request); every refusal goes to `onSecurityEvent`.
 *
 * @example
 * app.use(rateLimit({ limiter: createRateLimiter(config.security.rateLimit), trustProxy: 0 }));
 */
import type { Context, MiddlewareHandler } from "hono";
import { addressKey } from "../../security/client-address.js";
import type { SecurityEventHook } from "../../security/events.js";
import type { RateLimiter } from "../../security/rate-limiter.js";
import { bearerToken, type TokenVerifier } from "../../security/tokens.js";
import { problem, sendProblem } from "../problem.js";
import { clientAddress, requestHeader } from "../request-info.js";
import type { AppEnv } from "../router.js";

export interface RateLimitMiddlewareOptions {
  limiter: RateLimiter;
  /** Recognises token holders; undefined: every client is its address. */
  verifier?: TokenVerifier | undefined;
  /** Proxies in front that append to `X-Forwarded-For`; see `clientAddress`. */
  trustProxy: number;
  onSecurityEvent?: SecurityEventHook | undefined;
}

const isExempt = (path: string) => path.startsWith("/health/");

export function rateLimit({
  limiter,
  verifier,
  trustProxy,
  onSecurityEvent,
}: RateLimitMiddlewareOptions): MiddlewareHandler<AppEnv> {
  const clientOf = (c: Context) => {
    if (verifier) {
      const token = bearerToken(requestHeader(c, "authorization"));
      const id = token === undefined ? undefined : verifier.verify(token);
      if (id !== undefined) return id;
    }
    return addressKey(clientAddress(c, trustProxy));
  };

  return function rateLimitMiddleware(c, next) {
    if (isExempt(c.req.path)) return next();
    const client = clientOf(c);
    const decision = limiter.take(client);
    if (decision.allowed) return next();

    onSecurityEvent?.("rate_limit.hit");
    const { retryAfterSeconds } = decision;
    if (decision.first) {
      c.var.logger.info(
        { event: "rate_limit.hit", requestId: c.var.requestId, client, retryAfterSeconds },
        "rate limit reached: answering 429 until the client slows down",
      );
    }
    return Promise.resolve(
      sendProblem(
        c,
        problem(429, "rate_limited", `too many requests; retry after ${retryAfterSeconds} s`),
        { "retry-after": String(retryAfterSeconds) },
      ),
    );
  };
}
