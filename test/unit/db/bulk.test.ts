import { describe, expect, it } from "vitest";
import { chunkSizeFor, MAX_BIND_PARAMETERS } from "../../../src/db/bulk.js";

describe("chunkSizeFor", () => {
  it.each([1, 2, 5, 7, 300])("keeps rows x %i columns under postgres.js's limit", (columns) => {
    const rows = chunkSizeFor(columns);
    expect(rows * columns).toBeLessThanOrEqual(MAX_BIND_PARAMETERS);
    expect((rows + 1) * columns).toBeGreaterThan(MAX_BIND_PARAMETERS);
    // postgres.js throws MAX_PARAMETERS_EXCEEDED at 65,534.
    expect(rows * columns).toBeLessThan(65_534);
  });

  it("honours a smaller requested size, never a larger one, and at least one row", () => {
    expect(chunkSizeFor(5, 100)).toBe(100);
    expect(chunkSizeFor(5, 1_000_000)).toBe(chunkSizeFor(5));
    expect(chunkSizeFor(100_000)).toBe(1);
    expect(chunkSizeFor(5, 0)).toBe(1);
  });
});
