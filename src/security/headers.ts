/**
 * Security headers of the API's responses. A JSON response is never meant to be rendered as a
 * page, so the policy allows nothing: no scripts, no framing, no MIME sniffing, no referrer.
 *
 * Two forms of the same set, kept equal by test/unit/http/security-headers.test.ts:
 * - `SECURE_HEADERS_OPTIONS` for `hono/secure-headers`, on the routes that are not JSON API
 *   responses (`/openapi.json`, `/metrics`). `/docs` has its own, with a policy that lets
 *   Swagger UI run (src/http/routes/docs).
 * - `SECURITY_HEADERS`, a constant object merged into each API response's own headers
 *   (`JSON_HEADERS`, `sendProblem`). The middleware would set them on a WHATWG `Headers` after
 *   every handler, which takes the Node adapter off its fast path for plain-object headers: on
 *   `GET /users/{id}` that costs about a tenth of the throughput (docs/decisions/0010).
 *
 * Strict-Transport-Security is left to whoever terminates TLS: it binds the whole host to HTTPS
 * for months, which is not a decision for one service behind a proxy (docs/security.md).
 */
import type { secureHeaders } from "hono/secure-headers";

export const SECURE_HEADERS_OPTIONS = {
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  xFrameOptions: "DENY",
  xContentTypeOptions: true,
  referrerPolicy: true,
  crossOriginResourcePolicy: true,
  // Not relevant to a JSON response, and each costs bytes on every one of them.
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  strictTransportSecurity: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
} satisfies Parameters<typeof secureHeaders>[0];

/** What `secureHeaders(SECURE_HEADERS_OPTIONS)` sets, as lowercase names. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "cross-origin-resource-policy": "same-origin",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
};
