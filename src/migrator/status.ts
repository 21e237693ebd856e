/**
 * Pure comparison of the migrations folder with the rows of `drizzle.__drizzle_migrations`.
 *
 * drizzle's table stores only `hash` and `created_at` (the journal's `when`), so a row is
 * matched to a file by hash first, then by `when` (same migration, file edited since). What is
 * left over on either side is drift or pending work:
 *
 * - `changed`: applied, but the file's hash differs from the row's (edited after apply);
 * - `missingFiles`: rows whose migration is not in the folder (deleted, or from another branch);
 * - `pending` with `outOfOrder`: not applied, yet older than the newest applied row. drizzle's
 *   migrator compares timestamps only and would skip it forever; this runner applies it.
 *
 * @example
 * const status = compareMigrations(readMigrationFolder("drizzle"), rows);
 * if (status.drift) throw new MigrationDriftError(status);
 */
import type { MigrationFile } from "./files.js";

/** A row of `drizzle.__drizzle_migrations`. */
export interface AppliedRow {
  id: number;
  hash: string;
  createdAt: number;
}

export type MigrationEntry =
  | { state: "applied"; migration: MigrationFile; row: AppliedRow }
  | { state: "changed"; migration: MigrationFile; row: AppliedRow }
  | { state: "pending"; migration: MigrationFile; outOfOrder: boolean };

export interface MigrationStatus {
  /** Every migration of the folder, in journal order. */
  entries: MigrationEntry[];
  /** Applied rows with no migration in the folder. */
  missingFiles: AppliedRow[];
  /** Pending migrations, in the order `up` applies them (journal order). */
  pending: MigrationFile[];
  /** True when something applied no longer matches the folder (`changed` or `missingFiles`). */
  drift: boolean;
}

export function compareMigrations(
  migrations: readonly MigrationFile[],
  rows: readonly AppliedRow[],
): MigrationStatus {
  const unmatched = new Set(rows);
  const take = (predicate: (row: AppliedRow) => boolean) => {
    for (const row of unmatched) {
      if (predicate(row)) {
        unmatched.delete(row);
        return row;
      }
    }
    return undefined;
  };

  // Two files with identical SQL share a hash, so an exact (hash, when) match is taken first.
  const byHash = new Map<MigrationFile, AppliedRow>();
  for (const pass of [true, false]) {
    for (const migration of migrations) {
      if (byHash.has(migration)) continue;
      const row = take(
        (r) => r.hash === migration.hash && (!pass || r.createdAt === migration.when),
      );
      if (row) byHash.set(migration, row);
    }
  }

  const newestApplied = Math.max(-Infinity, ...rows.map((row) => row.createdAt));
  const entries = migrations.map((migration): MigrationEntry => {
    const row = byHash.get(migration);
    if (row) return { state: "applied", migration, row };
    const edited = take((r) => r.createdAt === migration.when);
    if (edited) return { state: "changed", migration, row: edited };
    return { state: "pending", migration, outOfOrder: migration.when < newestApplied };
  });

  const missingFiles = [...unmatched].toSorted((a, b) => a.id - b.id);
  return {
    entries,
    missingFiles,
    pending: entries.flatMap((entry) => (entry.state === "pending" ? [entry.migration] : [])),
    drift: missingFiles.length > 0 || entries.some((entry) => entry.state === "changed"),
  };
}
