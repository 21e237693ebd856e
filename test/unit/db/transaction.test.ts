import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../../src/db/transaction.js";

describe("backoffDelay", () => {
  it("draws from [0, min(cap, base * 2^(attempt-1))): full jitter, capped", () => {
    const draws = (attempt: number) =>
      Array.from({ length: 500 }, () =>
        backoffDelay(attempt, { baseDelayMs: 10, maxDelayMs: 100 }),
      );
    for (const [attempt, bound] of [
      [1, 10],
      [2, 20],
      [4, 80],
      [5, 100],
      [30, 100],
    ] as const) {
      const values = draws(attempt);
      expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...values)).toBeLessThan(bound);
      // Spread over the range, not stuck at one end.
      expect(Math.max(...values)).toBeGreaterThan(bound * 0.8);
    }
  });
});
