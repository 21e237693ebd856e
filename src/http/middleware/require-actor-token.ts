/**
 * The owner-scoped routes (`/me/*`) act for the user their bearer token names (a per-user
 * token, src/security/actor-tokens.ts): this middleware checks it and sets `actingUserId`, or
 * answers 401 problem+json with a `WWW-Authenticate` challenge before anything touches the
 * database. Without `ACTOR_TOKEN_SECRET` no token is valid, so every request is refused.
 *
 * @example
 * router.use("/me/*", requireActorToken({ verifier, trustProxy: 0 }));
 */
import type { MiddlewareHandler } from "hono";
import type { ActorTokenVerifier } from "../../security/actor-tokens.js";
import type { SecurityEventHook } from "../../security/events.js";
import { bearerToken } from "../../security/tokens.js";
import { requestHeader } from "../request-info.js";
import type { AppEnv } from "../router.js";
import { refuseBearer } from "./require-token.js";

export interface RequireActorTokenOptions {
  /** Undefined: no secret configured, every request is refused. */
  verifier: ActorTokenVerifier | undefined;
  trustProxy: number;
  onSecurityEvent?: SecurityEventHook | undefined;
}

export function requireActorToken({
  verifier,
  trustProxy,
  onSecurityEvent,
}: RequireActorTokenOptions): MiddlewareHandler<AppEnv> {
  return function requireActorTokenMiddleware(c, next) {
    const header = requestHeader(c, "authorization");
    const token = bearerToken(header);
    const userId = token === undefined ? undefined : verifier?.verify(token);
    if (userId !== undefined) {
      c.set("actingUserId", userId);
      return next();
    }
    return refuseBearer(c, header, token, {
      trustProxy,
      onSecurityEvent,
      logMessage: "owner-scoped read refused: no valid per-user token",
      missingDetail: "this route requires Authorization: Bearer <per-user token>",
    });
  };
}
