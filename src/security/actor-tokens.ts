/**
 * Per-user tokens for the owner-scoped routes (`GET /me/*`): `<userId>.<mac>`, where `mac` is
 * the base64url HMAC-SHA256 of `actor:<userId>` under `ACTOR_TOKEN_SECRET`. The token names the
 * user the request acts for; the database then holds the request to that user's rows
 * (`withActor`, row-level security).
 *
 * A demonstration of the pattern, not an identity system: such a token never expires and is
 * revoked only by changing the secret (which revokes all of them). A real service takes the user
 * from its identity provider instead (a verified JWT's `sub`, a session) and keeps the rest.
 * The shell can mint one (docs/security.md):
 *   printf 'actor:%s' "$USER_ID" | openssl dgst -sha256 -hmac "$ACTOR_TOKEN_SECRET" -binary | basenc --base64url | tr -d =
 *
 * @example
 * const token = signActorToken(secret, user.id);
 * createActorTokenVerifier(secret).verify(token); // user.id
 */
import { createHmac, timingSafeEqual } from "node:crypto";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const mac = (secret: string, userId: string) =>
  createHmac("sha256", secret).update(`actor:${userId}`).digest();

export function signActorToken(secret: string, userId: string): string {
  if (!UUID.test(userId)) throw new TypeError("userId must be a lower-case UUID");
  return `${userId}.${mac(secret, userId).toString("base64url")}`;
}

export interface ActorTokenVerifier {
  /** The user id the token names, or undefined when it isn't one signed with the secret. */
  verify(token: string): string | undefined;
}

export function createActorTokenVerifier(secret: string): ActorTokenVerifier {
  return {
    verify(token) {
      const dot = token.indexOf(".");
      const userId = token.slice(0, dot);
      if (dot < 0 || !UUID.test(userId)) return undefined;
      const presented = Buffer.from(token.slice(dot + 1), "base64url");
      const expected = mac(secret, userId);
      // Both are 32 bytes when the token is well-formed; the length of a MAC is no secret.
      if (presented.length !== expected.length) return undefined;
      return timingSafeEqual(presented, expected) ? userId : undefined;
    },
  };
}
