/**
 * Security headers of the app's responses. A JSON response is never meant to be rendered as a
 * page, so the policy allows nothing: no MIME sniffing, no scripts, no framing.
 *
 * Two forms of the same set, kept equal by test/unit/http/security-primitives.test.ts:
 * - `SECURITY_HEADERS`, which the listener's response class writes into every response's own
 *   headers (`RequestIdResponse`, src/http/middleware/request-context.ts). Applied as middleware,
 *   they would be set on a WHATWG `Headers` after each handler, which takes the Node adapter off
 *   its fast path for plain-object headers: about a tenth of `GET /users/{id}`'s throughput
 *   (docs/decisions/0010).
 * - `SECURE_HEADERS_OPTIONS` for `hono/secure-headers`, which the request context applies to
 *   responses that don't go through that class (`app.request` in tests, a plain `serve()`).
 *
 * A response's own header of the same name wins in both: `/docs` sets a policy that lets Swagger
 * UI run (src/http/routes/docs). Strict-Transport-Security is left to whoever terminates TLS: it
 * binds the whole host to HTTPS for months, which is not a decision for one service behind a
 * proxy (docs/security.md).
 */
import type { secureHeaders } from "hono/secure-headers";

/**
 * The two headers that matter for a JSON API; hono/secure-headers' others are off. Each header
 * costs every response Node's validation and writing of it, a visible share of a point read's
 * CPU time, and these would buy nothing here: `X-Frame-Options` repeats `frame-ancestors` for
 * browsers that predate it, `Referrer-Policy` and the cross-origin isolation headers concern
 * pages and their subresources, which a JSON response doesn't load, and browsers already refuse
 * `nosniff` JSON to other sites' `<script>` and `<img>` (opaque response blocking).
 */
export const SECURE_HEADERS_OPTIONS = {
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  xContentTypeOptions: true,
  crossOriginEmbedderPolicy: false,
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: false,
  originAgentCluster: false,
  referrerPolicy: false,
  strictTransportSecurity: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xFrameOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
} satisfies Parameters<typeof secureHeaders>[0];

/** What `secureHeaders(SECURE_HEADERS_OPTIONS)` sets, as lowercase names. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
};
