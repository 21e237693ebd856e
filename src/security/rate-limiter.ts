/**
 * Per-client token buckets, in memory: each client may send `burst` requests at once, then
 * `requestsPerSecond` on average. One `Map` lookup and a little arithmetic per request.
 *
 * Memory is bounded: at most `maxClients` buckets. When a new client would exceed that, buckets
 * idle long enough to have refilled are dropped first (forgetting a full bucket changes nothing),
 * then the oldest ones. Forgetting a client only ever lets it send more, never less, so a flood
 * of new addresses can evict others' buckets but cannot lock anyone out.
 *
 * Each process keeps its own buckets: behind a load balancer with N instances a client may send
 * up to N times the limit. A shared store (Redis, or the proxy's own limiter) is the way to one
 * limit across instances (docs/security.md).
 *
 * @example
 * const limiter = createRateLimiter({ requestsPerSecond: 100, burst: 200, maxClients: 10_000 });
 * const decision = limiter.take("192.0.2.1");
 * if (!decision.allowed) answer429(decision.retryAfterSeconds);
 */

export interface RateLimitOptions {
  /** Sustained requests per second per client: how fast a bucket refills. */
  requestsPerSecond: number;
  /** Requests a client may send at once after being idle: the bucket's size. */
  burst: number;
  /** Buckets kept at most. */
  maxClients: number;
}

export type RateDecision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** Whole seconds until the client may send again (at least 1): the `Retry-After` value. */
      readonly retryAfterSeconds: number;
      /** The first refusal since the client's last allowed request: log this one only. */
      readonly first: boolean;
    };

export interface RateLimiter {
  /** Takes one request from `client`'s bucket. */
  take(client: string): RateDecision;
  /** Buckets currently held. */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was computed, in ms of `now()`. */
  at: number;
  refused: boolean;
}

const ALLOWED: RateDecision = { allowed: true };
/** When the map is full and nothing is idle, drop this share of it at once, not one per request. */
const EVICT_SHARE = 0.1;

/** `now` returns milliseconds on a monotonic clock; tests pass a fake one. */
export function createRateLimiter(
  { requestsPerSecond, burst, maxClients }: RateLimitOptions,
  now: () => number = () => performance.now(),
): RateLimiter {
  const perMs = requestsPerSecond / 1000;
  /** After this long without a request, any bucket is full again. */
  const refillMs = burst / perMs;
  const buckets = new Map<string, Bucket>();

  const makeRoom = (time: number) => {
    // Deleting the entry being visited is safe while iterating a Map.
    for (const [client, bucket] of buckets) {
      if (time - bucket.at >= refillMs) buckets.delete(client);
    }
    let excess = buckets.size - Math.floor(maxClients * (1 - EVICT_SHARE));
    if (excess <= 0) return;
    // Insertion order: the clients first seen longest ago.
    for (const client of buckets.keys()) {
      buckets.delete(client);
      if (--excess <= 0) break;
    }
  };

  return {
    take(client) {
      const time = now();
      const bucket = buckets.get(client);
      if (bucket === undefined) {
        if (buckets.size >= maxClients) makeRoom(time);
        buckets.set(client, { tokens: burst - 1, at: time, refused: false });
        return ALLOWED;
      }
      const tokens = Math.min(burst, bucket.tokens + (time - bucket.at) * perMs);
      bucket.at = time;
      if (tokens >= 1) {
        bucket.tokens = tokens - 1;
        bucket.refused = false;
        return ALLOWED;
      }
      bucket.tokens = tokens;
      const first = !bucket.refused;
      bucket.refused = true;
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)),
        first,
      };
    },
    get size() {
      return buckets.size;
    },
  };
}
