/**
 * The migrations folder as drizzle-kit writes it — `meta/_journal.json` plus `<tag>.sql` per
 * entry — and the down files this runner adds beside them (`<tag>.down.sql`).
 *
 * Hash and timestamp are computed exactly as drizzle-orm's `readMigrationFiles` does (sha256
 * of the file's text, the journal's `when`), so rows written here and by `drizzle-kit migrate`
 * are interchangeable.
 *
 * @example
 * const migrations = readMigrationFolder("drizzle");
 * const missing = migrations.filter((m) => m.down.state !== "ready").map((m) => m.tag);
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type RestoredColumn, readRestoredLast } from "./down-review.js";
import { hasStatements, type SqlChunk, splitChunks } from "./sql.js";

export interface MigrationFile {
  /** Position in the journal; migrations are applied in this order. */
  idx: number;
  tag: string;
  /** The journal's `when` (ms); drizzle stores it as `created_at`. */
  when: number;
  /** Path of `<tag>.sql`. */
  file: string;
  sql: string;
  /** sha256 of `sql`, hex: drizzle's `hash` column. */
  hash: string;
  chunks: SqlChunk[];
  down: DownFile;
}

export interface DownFile {
  /** Path of `<tag>.down.sql`, whether or not it exists. */
  file: string;
  /** `empty`: the file exists but holds only comments (a fresh scaffold). */
  state: "missing" | "empty" | "ready";
  chunks: SqlChunk[];
  /** The file says rolling back keeps every row that existed before the up (`-- lossless`). */
  lossless: boolean;
  /**
   * Columns the file adds back, which PostgreSQL puts at the end of their tables
   * (`-- restored last: "public"."users"."nickname"`): the round trip expects them there.
   */
  restoredLast: RestoredColumn[];
}

interface Journal {
  entries: { idx: number; when: number; tag: string }[];
}

/** A line starting `-- lossless` marks a down file as keeping the data of the schema before it. */
const LOSSLESS_MARKER = /^--\s*lossless\b/im;

export function journalPath(folder: string): string {
  return join(folder, "meta", "_journal.json");
}

/** The journal's tags in order; empty when there is no journal yet. */
export function readJournalTags(folder: string): string[] {
  if (!existsSync(journalPath(folder))) return [];
  return readJournal(folder).entries.map((entry) => entry.tag);
}

/** Every journal entry with its SQL and down file, in journal order. */
export function readMigrationFolder(folder: string): MigrationFile[] {
  return readJournal(folder)
    .entries.toSorted((a, b) => a.idx - b.idx)
    .map((entry) => {
      const file = join(folder, `${entry.tag}.sql`);
      if (!existsSync(file)) {
        throw new Error(`${file} is listed in ${journalPath(folder)} but does not exist`);
      }
      // Read as text, then hashed as UTF-8: byte-for-byte what drizzle-orm hashes.
      const sql = readFileSync(file).toString();
      return {
        idx: entry.idx,
        tag: entry.tag,
        when: entry.when,
        file,
        sql,
        hash: createHash("sha256").update(sql).digest("hex"),
        chunks: splitChunks(sql),
        down: readDownFile(join(folder, `${entry.tag}.down.sql`)),
      };
    });
}

function readJournal(folder: string): Journal {
  const path = journalPath(folder);
  if (!existsSync(path)) throw new Error(`no migration journal at ${path}`);
  return JSON.parse(readFileSync(path, "utf8")) as Journal;
}

function readDownFile(file: string): DownFile {
  if (!existsSync(file)) {
    return { file, state: "missing", chunks: [], lossless: false, restoredLast: [] };
  }
  const sql = readFileSync(file, "utf8");
  return {
    file,
    state: hasStatements(sql) ? "ready" : "empty",
    chunks: splitChunks(sql),
    lossless: LOSSLESS_MARKER.test(sql),
    restoredLast: readRestoredLast(sql),
  };
}

/**
 * The down file of a migration drizzle-kit sees no schema change in (`--custom`): comments
 * only, so it counts as empty until someone writes the SQL.
 */
export function downFileTemplate(tag: string): string {
  return [
    `-- Down migration for ${tag}.sql: undo exactly what it did, newest change first.`,
    "-- `npm run db:rollback` runs it in one transaction and removes the migration's row.",
    "-- Separate statements with `--> statement-breakpoint` lines, as in the up file.",
    "-- If rolling back keeps every row that existed before the up, add a line reading",
    "-- `-- lossless` (the round-trip test then proves it). A migration that can't be undone",
    "-- should say so: DO $$ BEGIN RAISE EXCEPTION 'irreversible'; END $$;",
    "-- Until this file holds SQL, db:status and db:check report it as missing.",
    "",
  ].join("\n");
}
