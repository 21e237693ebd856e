/**
 * Writes require a bearer token: a request without a valid `Authorization: Bearer <token>` is
 * answered 401 problem+json (`code: "unauthorized"`) with a `WWW-Authenticate: Bearer` challenge
 * before anything reads its body or touches the database. Registered for POST, PUT, PATCH and
 * DELETE only, so reads never pass through it.
 *
 * Each refusal is logged at warn as `event: "auth.refused"` with the reason and the client's
 * address, never with the token, and passed to `onSecurityEvent`.
 *
 * @example
 * app.on(["POST", "PUT", "PATCH", "DELETE"], "*", requireToken({ verifier, trustProxy: 0 }));
 */
import type { MiddlewareHandler } from "hono";
import type { SecurityEventHook } from "../../security/events.js";
import { bearerToken, type TokenVerifier } from "../../security/tokens.js";
import { problem, sendProblem } from "../problem.js";
import { clientAddress, requestHeader } from "../request-info.js";
import type { AppEnv } from "../router.js";

export interface RequireTokenOptions {
  verifier: TokenVerifier;
  /** For the log line's client address; see `clientAddress`. */
  trustProxy: number;
  onSecurityEvent?: SecurityEventHook | undefined;
}

/** Why a request was refused, with its answer (RFC 6750 section 3). */
const REFUSALS = {
  missing: {
    detail: "this operation requires Authorization: Bearer <token>",
    challenge: "Bearer",
  },
  malformed: {
    detail: "the Authorization header is not Bearer <token>",
    challenge: 'Bearer error="invalid_request"',
  },
  invalid: {
    detail: "the bearer token is not valid",
    challenge: 'Bearer error="invalid_token"',
  },
} as const;

export function requireToken({
  verifier,
  trustProxy,
  onSecurityEvent,
}: RequireTokenOptions): MiddlewareHandler<AppEnv> {
  return function requireTokenMiddleware(c, next) {
    const header = requestHeader(c, "authorization");
    const token = bearerToken(header);
    const actor = token === undefined ? undefined : verifier.verify(token);
    if (actor !== undefined) {
      c.set("actor", actor);
      return next();
    }

    const reason = header === undefined ? "missing" : token === undefined ? "malformed" : "invalid";
    onSecurityEvent?.("auth.refused");
    c.var.logger.warn(
      {
        event: "auth.refused",
        requestId: c.var.requestId,
        reason,
        method: c.req.method,
        client: clientAddress(c, trustProxy),
      },
      "write refused: no valid bearer token",
    );
    const { detail, challenge } = REFUSALS[reason];
    return Promise.resolve(
      sendProblem(c, problem(401, "unauthorized", detail), { "www-authenticate": challenge }),
    );
  };
}
