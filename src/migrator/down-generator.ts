/**
 * Generated down migrations. drizzle-kit generates the up by diffing the schema's previous
 * snapshot against the current one; the down is the same diff taken backwards — the up's
 * snapshot as the starting point, its predecessor's as the target — through drizzle-kit's
 * programmatic API (`drizzle-kit/api`, `generateMigration`). ADR 0011 records why.
 *
 * The result is a starting point for review, not a proof: the file's header lists every
 * statement that loses data or can fail on data written since the up (`down-review.ts`), and
 * the round-trip test checks the pair on a real database.
 *
 * `drizzle-kit` is a dev dependency: it is imported only when a down is generated, so the
 * runner works in a production image without it.
 *
 * @example
 * const down = await writeDownMigration("drizzle", "0002_notes");
 * console.log(`${down.file}: ${down.review.notes.length} statement(s) to review`);
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { restoreFalsyDefaults } from "./diff-repairs.js";
import { type DownReview, renderDownFile, reviewDownStatements } from "./down-review.js";
import { MigrationPlanError, UnknownMigrationError } from "./errors.js";
import { downFileTemplate, readJournalTags } from "./files.js";
import {
  addedEnumValues,
  type DrizzleSnapshot,
  readSnapshotPair,
  recordedRenames,
} from "./snapshots.js";
import { hasStatements } from "./sql.js";

export interface GeneratedDown {
  tag: string;
  /** Path of `<tag>.down.sql`. */
  file: string;
  /** drizzle-kit's statements; empty when both snapshots hold the same schema (`--custom`). */
  statements: string[];
  review: DownReview;
  /** The file's content: the header and the statements, or the hand-written-down scaffold. */
  text: string;
}

export interface DownOptions {
  /** Told about renames the up made before drizzle-kit may ask about them. */
  log?: (line: string) => void;
}

/**
 * The down migration of `tag`, generated and reviewed, not written. Throws when drizzle-kit
 * needs to ask about a rename and there is no terminal to ask in.
 */
export async function generateDownMigration(
  folder: string,
  tag: string,
  options: DownOptions = {},
): Promise<GeneratedDown> {
  if (!readJournalTags(folder).includes(tag)) {
    throw new UnknownMigrationError(`no migration tagged ${tag} in ${folder}/meta/_journal.json`);
  }
  const { generateDrizzleJson, generateMigration } = await import("drizzle-kit/api");
  const { before, after } = readSnapshotPair(
    folder,
    tag,
    // The empty schema, as drizzle-kit's own first `generate` starts from.
    () => generateDrizzleJson({}) as DrizzleSnapshot,
  );

  // The reverse of a rename is ambiguous to drizzle-kit ("drop and create, or rename?") just as
  // the up was, so it asks again; say what the up chose.
  const renames = recordedRenames(after.snapshot);
  for (const rename of renames) {
    options.log?.(`${tag} renamed ${rename}: if drizzle-kit asks, choose to rename it back`);
  }

  let diff: string[];
  try {
    diff = await generateMigration(after.snapshot, before.snapshot);
  } catch (cause) {
    throw new MigrationPlanError(
      `drizzle-kit could not diff ${tag} backwards: ${(cause as Error).message}\n` +
        "  A rename, or a table or column both added and dropped, makes drizzle-kit ask which it " +
        `was: run \`npm run db:generate -- --down-only ${tag}\` in a terminal, or write the down file by hand.`,
      { cause },
    );
  }

  const file = join(folder, `${tag}.down.sql`);
  const { statements, repairs } = restoreFalsyDefaults(diff, after.snapshot, before.snapshot);
  const review = reviewDownStatements(statements, addedEnumValues(before.snapshot, after.snapshot));
  review.notes.push(...repairs.map((repair) => ({ ...repair, kind: "added" as const })));
  review.notes.sort((a, b) => a.statement - b.statement);
  const text =
    statements.length === 0
      ? downFileTemplate(tag)
      : renderDownFile({
          tag,
          fromSnapshot: relative(folder, after.file ?? ""),
          toSnapshot: before.file === undefined ? undefined : relative(folder, before.file),
          statements,
          review,
        });
  return { tag, file, statements, review, text };
}

/**
 * Generates `tag`'s down file and writes it. An existing down file with SQL in it is never
 * overwritten (it may hold reviewed edits); a scaffold holding only comments is.
 */
export async function writeDownMigration(
  folder: string,
  tag: string,
  options: DownOptions = {},
): Promise<GeneratedDown> {
  const file = join(folder, `${tag}.down.sql`);
  if (existsSync(file) && hasStatements(readFileSync(file, "utf8"))) {
    throw new MigrationPlanError(`${file} already holds SQL: delete it first to generate it again`);
  }
  const down = await generateDownMigration(folder, tag, options);
  writeFileSync(file, down.text);
  return down;
}
