/**
 * A small seeded PRNG (mulberry32): the same seed yields the same demo data on every machine,
 * which is what makes `db:seed` repeatable and its ids stable.
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => {
    const item = items[int(0, items.length - 1)];
    if (item === undefined) throw new RangeError("pick from an empty list");
    return item;
  };
  /** A version-4-shaped UUID drawn from the PRNG (deterministic, unlike crypto.randomUUID). */
  const uuid = () => {
    const hex = Array.from({ length: 32 }, () => int(0, 15).toString(16));
    hex[12] = "4";
    hex[16] = ((int(0, 15) & 0x3) | 0x8).toString(16);
    const s = hex.join("");
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  };
  /**
   * A second generator that continues from this one's current state, so one stretch of the
   * sequence can be replayed (the seed simulates its transfers once for the final balances and
   * once more to write them, without holding every transfer in memory).
   */
  const fork = () => createRandom(state);
  return { next, int, pick, uuid, fork };
}

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform whole number in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  uuid(): string;
  fork(): Random;
}
