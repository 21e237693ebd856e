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
import type { Context, MiddlewareHandler } from "hono";
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

    return refuseBearer(c, header, token, {
      trustProxy,
      onSecurityEvent,
      logMessage: "write refused: no valid bearer token",
    });
  };
}

/**
 * The 401 of a bearer-token check, shared by the write gate and the owner-scoped routes: the
 * reason (RFC 6750: missing, malformed, invalid), a warn line `event: "auth.refused"` with the
 * client's address and never the token, the security event, and the problem with its challenge.
 */
export function refuseBearer(
  c: Context<AppEnv>,
  header: string | undefined,
  token: string | undefined,
  options: {
    trustProxy: number;
    onSecurityEvent?: SecurityEventHook | undefined;
    logMessage: string;
    /** The problem's detail when no Authorization header came at all. */
    missingDetail?: string;
  },
): Promise<Response> {
  const reason = header === undefined ? "missing" : token === undefined ? "malformed" : "invalid";
  options.onSecurityEvent?.("auth.refused");
  c.var.logger.warn(
    {
      event: "auth.refused",
      requestId: c.var.requestId,
      reason,
      method: c.req.method,
      client: clientAddress(c, options.trustProxy),
    },
    options.logMessage,
  );
  const { detail, challenge } = REFUSALS[reason];
  const shown = reason === "missing" ? (options.missingDetail ?? detail) : detail;
  return Promise.resolve(
    sendProblem(c, problem(401, "unauthorized", shown), { "www-authenticate": challenge }),
  );
}
