import { describe, expect, it } from "vitest";
import { createRateLimiter, type RateDecision } from "../../../src/security/rate-limiter.js";

/** A limiter on a clock the test moves by hand (milliseconds). */
function limiterAt(options: { requestsPerSecond: number; burst: number; maxClients?: number }) {
  const clock = { now: 0 };
  const limiter = createRateLimiter({ maxClients: 1_000, ...options }, () => clock.now);
  return { limiter, clock };
}

const allowedCount = (decisions: RateDecision[]) => decisions.filter((d) => d.allowed).length;

describe("createRateLimiter", () => {
  it("lets a client send its burst at once, then refuses with the seconds until the next one", () => {
    const { limiter } = limiterAt({ requestsPerSecond: 0.5, burst: 3 });
    const decisions = Array.from({ length: 5 }, () => limiter.take("a"));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    // One token every 2 s: the next request is possible in 2 s.
    expect(decisions[3]).toEqual({ allowed: false, retryAfterSeconds: 2, first: true });
    expect(decisions[4]).toEqual({ allowed: false, retryAfterSeconds: 2, first: false });
  });

  it("refills at the configured rate, up to the burst and no further", () => {
    const { limiter, clock } = limiterAt({ requestsPerSecond: 10, burst: 5 });
    for (let i = 0; i < 5; i++) limiter.take("a");
    expect(limiter.take("a").allowed).toBe(false);
    clock.now += 300; // three tokens
    expect(allowedCount(Array.from({ length: 5 }, () => limiter.take("a")))).toBe(3);
    clock.now += 60_000; // long idle: a full bucket, not 600 tokens
    expect(allowedCount(Array.from({ length: 10 }, () => limiter.take("a")))).toBe(5);
  });

  it("rounds Retry-After up to whole seconds, never 0", () => {
    const { limiter, clock } = limiterAt({ requestsPerSecond: 100, burst: 1 });
    limiter.take("a");
    clock.now += 5;
    expect(limiter.take("a")).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
  });

  it("marks only the first refusal after an allowed request as first", () => {
    const { limiter, clock } = limiterAt({ requestsPerSecond: 1, burst: 1 });
    limiter.take("a");
    const firsts = () => {
      const refused = Array.from({ length: 3 }, () => limiter.take("a"));
      return refused.map((d) => !d.allowed && d.first);
    };
    expect(firsts()).toEqual([true, false, false]);
    clock.now += 1_000;
    expect(limiter.take("a").allowed).toBe(true);
    expect(firsts()).toEqual([true, false, false]);
  });

  it("keeps clients apart", () => {
    const { limiter } = limiterAt({ requestsPerSecond: 1, burst: 2 });
    limiter.take("a");
    limiter.take("a");
    expect(limiter.take("a").allowed).toBe(false);
    expect(limiter.take("b").allowed).toBe(true);
  });

  it("holds at most maxClients buckets, dropping idle ones first", () => {
    const { limiter, clock } = limiterAt({ requestsPerSecond: 1, burst: 2, maxClients: 100 });
    // A busy client, limited, that must stay limited.
    limiter.take("busy");
    limiter.take("busy");
    clock.now += 10_000; // every bucket so far is full again: idle
    for (let i = 0; i < 99; i++) limiter.take(`idle-${i}`);
    limiter.take("busy");
    limiter.take("busy");
    expect(limiter.size).toBe(100);
    clock.now += 10_000;
    limiter.take("busy");
    limiter.take("busy");
    expect(limiter.take("busy").allowed).toBe(false);
    // A new client finds the map full: the idle buckets go, the busy one stays.
    expect(limiter.take("new").allowed).toBe(true);
    expect(limiter.size).toBeLessThanOrEqual(100);
    expect(limiter.take("busy").allowed).toBe(false);
  });

  it("stays bounded under a flood of new clients that are all active", () => {
    const { limiter, clock } = limiterAt({ requestsPerSecond: 1, burst: 10, maxClients: 1_000 });
    for (let i = 0; i < 20_000; i++) {
      clock.now += 0.01; // nobody is ever idle long enough to be full again
      expect(limiter.take(`client-${i}`).allowed).toBe(true);
      expect(limiter.size).toBeLessThanOrEqual(1_000);
    }
  });
});
