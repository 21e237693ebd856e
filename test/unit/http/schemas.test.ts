import { describe, expect, it } from "vitest";
import { toIso } from "../../../src/http/schemas.js";

describe("toIso", () => {
  it("writes what Date.prototype.toISOString writes", () => {
    const edges = [
      0,
      -1,
      Date.UTC(2024, 1, 29, 23, 59, 59, 999), // a leap day's last millisecond
      Date.UTC(2000, 0, 1),
      Date.UTC(1000, 0, 1), // the first year written by hand
      Date.UTC(9999, 11, 31, 23, 59, 59, 999), // and the last
      Date.UTC(999, 11, 31, 23, 59, 59, 999), // the builtin's
      Date.UTC(10000, 0, 1),
      Date.UTC(-1, 5, 6, 7, 8, 9, 10),
    ];
    // Spread over 1000-9999 with every field's padding exercised.
    const spread = Array.from({ length: 5000 }, (_, i) =>
      Date.UTC(1000 + i * 1.8, i % 12, 1 + (i % 28), i % 24, i % 60, (i * 7) % 60, (i * 37) % 1000),
    );
    for (const time of [...edges, ...spread]) {
      const date = new Date(time);
      expect(toIso(date)).toBe(date.toISOString());
    }
  });

  it("throws on an invalid date, as the builtin does", () => {
    expect(() => toIso(new Date(Number.NaN))).toThrow(RangeError);
  });
});
