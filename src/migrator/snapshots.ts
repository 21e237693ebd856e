/**
 * drizzle-kit's schema snapshots (`meta/<prefix>_snapshot.json`), which `drizzle-kit generate`
 * writes beside every migration: the whole schema as it is after that migration. A snapshot
 * names its predecessor by `prevId`, so a migration's "before" and "after" schemas are two
 * files, and a down migration is the diff between them taken backwards.
 *
 * @example
 * const { before, after } = readSnapshotPair("drizzle", "0002_notes");
 * const downStatements = await generateMigration(after.snapshot, before.snapshot);
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The parts of drizzle-kit's snapshot format (version 7) read here. drizzle-kit validates the
 * whole file when it diffs two snapshots; its own type for it is not usable from this project
 * (it is declared against zod 3).
 */
export interface DrizzleSnapshot {
  id: string;
  prevId: string;
  /** Keyed `schema.table`; `schema` is empty for public in some versions. */
  tables: Record<
    string,
    {
      name: string;
      schema: string;
      columns: Record<string, { name: string; type: string; default?: unknown }>;
    }
  >;
  enums: Record<string, { name: string; schema: string; values: string[] }>;
  /** Renames chosen at `generate` time, `"schema"."table"."column"` style keys, old -> new. */
  _meta?: Partial<Record<"schemas" | "tables" | "columns", Record<string, string>>>;
}

/** The `prevId` of a folder's first snapshot: it follows the empty schema. */
export const FIRST_PREV_ID = "00000000-0000-0000-0000-000000000000";

export interface SnapshotFile {
  /** Path of the snapshot file; undefined for the empty schema before the first migration. */
  file: string | undefined;
  snapshot: DrizzleSnapshot;
}

export interface SnapshotPair {
  /** The schema before the migration (its predecessor's snapshot, or the empty schema). */
  before: SnapshotFile;
  /** The schema after the migration. */
  after: SnapshotFile;
}

/** Where drizzle-kit keeps a migration's snapshot: the tag's prefix (`0002`) + `_snapshot.json`. */
export function snapshotPath(folder: string, tag: string): string {
  return join(folder, "meta", `${tag.split("_")[0]}_snapshot.json`);
}

/**
 * The snapshots on either side of `tag`. The predecessor is found by `prevId`, as drizzle-kit
 * links them, not by position, so a journal reordered by a merge still pairs correctly.
 * `emptySchema` supplies the "before" of a folder's first migration.
 */
export function readSnapshotPair(
  folder: string,
  tag: string,
  emptySchema: () => DrizzleSnapshot,
): SnapshotPair {
  const afterFile = snapshotPath(folder, tag);
  if (!existsSync(afterFile)) {
    throw new Error(`${afterFile} does not exist: ${tag} has no drizzle-kit snapshot`);
  }
  const after = readSnapshot(afterFile);
  if (after.prevId === FIRST_PREV_ID) {
    return {
      before: { file: undefined, snapshot: emptySchema() },
      after: { file: afterFile, snapshot: after },
    };
  }
  const meta = join(folder, "meta");
  for (const name of readdirSync(meta)
    .filter((n) => n.endsWith("_snapshot.json"))
    .toSorted()) {
    const file = join(meta, name);
    if (file === afterFile) continue;
    const candidate = readSnapshot(file);
    if (candidate.id === after.prevId) {
      return { before: { file, snapshot: candidate }, after: { file: afterFile, snapshot: after } };
    }
  }
  throw new Error(
    `no snapshot in ${meta} has id ${after.prevId}, the predecessor ${afterFile} names (prevId)`,
  );
}

/**
 * The renames drizzle-kit recorded in a snapshot (`_meta`): what the user chose when
 * `generate` asked "rename or create?", as `old -> new` lines.
 */
export function recordedRenames(snapshot: DrizzleSnapshot): string[] {
  const renames: string[] = [];
  for (const kind of ["schemas", "tables", "columns"] as const) {
    for (const [from, to] of Object.entries(snapshot._meta?.[kind] ?? {})) {
      renames.push(`${from} -> ${to}`);
    }
  }
  return renames;
}

/** Values each enum (`schema.name`) has in `after` but not in `before`. */
export function addedEnumValues(
  before: DrizzleSnapshot,
  after: DrizzleSnapshot,
): Map<string, string[]> {
  const added = new Map<string, string[]>();
  for (const [key, type] of Object.entries(after.enums)) {
    const previous = before.enums[key];
    if (!previous) continue;
    const values = type.values.filter((value) => !previous.values.includes(value));
    if (values.length > 0) added.set(`${type.schema}.${type.name}`, values);
  }
  return added;
}

function readSnapshot(file: string): DrizzleSnapshot {
  // Read as drizzle-kit wrote it; generateMigration validates the shape (zod) before diffing.
  return JSON.parse(readFileSync(file, "utf8")) as DrizzleSnapshot;
}
