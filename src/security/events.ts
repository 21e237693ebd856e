/**
 * Security events: what the HTTP layer refused and why. Each is logged once with its name in the
 * `event` field (never with the token), and passed to the app's `onSecurityEvent` hook, so that a
 * metrics module can count them.
 *
 * @example
 * createApp({ database, logger, onSecurityEvent: (event) => counter.labels(event).inc() });
 */
export const SECURITY_EVENTS = [
  /** A write without a valid bearer token: 401. */
  "auth.refused",
  /** A request over the client's rate limit: 429. */
  "rate_limit.hit",
  /** A request body over its route's limit: 413. */
  "body.too_large",
] as const;

export type SecurityEvent = (typeof SECURITY_EVENTS)[number];

/** Called once per refused request, synchronously: keep it cheap (a counter increment). */
export type SecurityEventHook = (event: SecurityEvent) => void;
