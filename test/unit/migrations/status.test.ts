import { describe, expect, it } from "vitest";
import type { MigrationFile } from "../../../src/migrator/files.js";
import { type AppliedRow, compareMigrations } from "../../../src/migrator/status.js";

const migration = (idx: number, when: number, hash = `hash${idx}`): MigrationFile => ({
  idx,
  tag: `000${idx}_m`,
  when,
  file: `drizzle/000${idx}_m.sql`,
  sql: "",
  hash,
  chunks: [],
  down: {
    file: `drizzle/000${idx}_m.down.sql`,
    state: "ready",
    chunks: [],
    lossless: false,
    restoredLast: [],
  },
});
const row = (id: number, hash: string, createdAt: number): AppliedRow => ({ id, hash, createdAt });

describe("compareMigrations", () => {
  const m0 = migration(0, 1000);
  const m1 = migration(1, 2000);
  const m2 = migration(2, 3000);

  it("matches rows by hash and lists the rest as pending, in journal order", () => {
    const status = compareMigrations([m0, m1, m2], [row(1, "hash0", 1000)]);
    expect(status.entries.map((e) => e.state)).toEqual(["applied", "pending", "pending"]);
    expect(status.pending).toEqual([m1, m2]);
    expect(status.drift).toBe(false);
  });

  it("flags a pending migration older than an applied one (merged from another branch)", () => {
    // 0001 was merged after 0002 had been applied: drizzle's migrator would skip it forever.
    const status = compareMigrations([m0, m1, m2], [row(1, "hash0", 1000), row(2, "hash2", 3000)]);
    expect(status.entries[1]).toMatchObject({ state: "pending", outOfOrder: true });
    expect(status.pending).toEqual([m1]);
    expect(status.drift).toBe(false);
  });

  it("reports an applied migration whose file changed as drift", () => {
    const status = compareMigrations([m0, m1], [row(1, "hash0", 1000), row(2, "edited", 2000)]);
    expect(status.entries[1]).toMatchObject({ state: "changed", row: { id: 2 } });
    expect(status.pending).toEqual([]);
    expect(status.drift).toBe(true);
  });

  it("reports applied rows with no file as drift", () => {
    const status = compareMigrations([m0], [row(1, "hash0", 1000), row(2, "gone", 5000)]);
    expect(status.missingFiles).toEqual([row(2, "gone", 5000)]);
    expect(status.drift).toBe(true);
  });

  it("pairs identical files with their own rows by timestamp", () => {
    const a = migration(0, 1000, "same");
    const b = migration(1, 2000, "same");
    const status = compareMigrations([a, b], [row(1, "same", 2000)]);
    expect(status.entries.map((e) => e.state)).toEqual(["pending", "applied"]);
    expect(status.entries[0]).toMatchObject({ outOfOrder: true });
  });

  it("treats an empty database as everything pending", () => {
    const status = compareMigrations([m0, m1], []);
    expect(status.pending).toEqual([m0, m1]);
    expect(status.entries.some((e) => e.state === "pending" && e.outOfOrder)).toBe(false);
  });
});
