/**
 * What a generated down file says about itself: pure functions from drizzle-kit's reverse-diff
 * statements to review notes, and the file's text (a header, then the statements).
 *
 * A down reverses the schema, not the data. Every statement of a generated down either undoes
 * something the up created (a DROP loses whatever was written there since), recreates
 * something the up dropped (it comes back empty), or re-imposes a rule the up relaxed (it fails
 * on rows written since that break it). The notes name each such statement, so a reviewer reads
 * them instead of rediscovering them during an incident.
 *
 * @example
 * const review = reviewDownStatements(['ALTER TABLE "users" DROP COLUMN "nickname";'], new Map());
 * // review.notes: [{ statement: 1, kind: "loses", message: 'drops "public"."users"."nickname" ...' }]
 */
import {
  IDENT,
  QUALIFIED,
  qualifiedKey,
  STATEMENT_BREAKPOINT,
  splitStatements,
  unquote,
} from "./sql.js";

export interface DownNote {
  /** 1-based statement (chunk) of the down file. */
  statement: number;
  /**
   * `loses`: data goes; `empty`: structure comes back without its data; `fails`: may refuse on
   * rows written since the up; `added`: a statement the generator added to drizzle-kit's diff.
   */
  kind: "loses" | "empty" | "fails" | "added";
  message: string;
}

/** A column the down adds back: PostgreSQL appends it, so it ends up its table's last column. */
export interface RestoredColumn {
  schema: string;
  table: string;
  column: string;
}

export interface DownReview {
  notes: DownNote[];
  restoredLast: RestoredColumn[];
}

/** The marker line for a column the round trip should expect at the end of its table. */
export const RESTORED_LAST_MARKER = "-- restored last:";

// drizzle-kit's statements, normalized by splitStatements (comments gone, literals blanked).
const re = (source: string) => new RegExp(source, "i");
const DROP_TABLE = re(`^DROP TABLE (?:IF EXISTS )?(${QUALIFIED})`);
const CREATE_TABLE = re(`^CREATE TABLE (?:IF NOT EXISTS )?(${QUALIFIED})`);
const DROP_SEQUENCE = re(`^DROP SEQUENCE (?:IF EXISTS )?(${QUALIFIED})`);
const CREATE_ENUM = re(`^CREATE TYPE (${QUALIFIED}) AS ENUM\\b`);
const ALTER_TABLE = re(`^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?(${QUALIFIED}) (.*)$`);
const DROP_COLUMN = re(`^DROP COLUMN (?:IF EXISTS )?(${IDENT})`);
const ADD_COLUMN = re(`^ADD COLUMN (?:IF NOT EXISTS )?(${IDENT}) (.*)$`);
const SET_TYPE = re(`^ALTER COLUMN (${IDENT}) SET DATA TYPE (.+?)(?: USING .*)?$`);
const SET_NOT_NULL = re(`^ALTER COLUMN (${IDENT}) SET NOT NULL$`);
const ADD_CONSTRAINT = re(`^ADD CONSTRAINT (${IDENT}) (UNIQUE|PRIMARY KEY|CHECK|FOREIGN KEY)\\b`);
const UNIQUE_INDEX = re(`^CREATE UNIQUE INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?(${IDENT})`);

/**
 * Reviews drizzle-kit's reverse-diff statements. `addedEnumValues` holds, per enum
 * (`schema.name`), the values the up added: the down can only drop them by recreating the type.
 */
export function reviewDownStatements(
  statements: readonly string[],
  addedEnumValues: ReadonlyMap<string, readonly string[]>,
): DownReview {
  const codes = statements.map((text) => splitStatements(text)[0]?.code ?? "");
  const recreatedEnums = new Set(
    codes.flatMap((code) => {
      const match = CREATE_ENUM.exec(code)?.[1];
      return match && addedEnumValues.has(qualifiedKey(match)) ? [qualifiedKey(match)] : [];
    }),
  );
  // drizzle-kit moves a column off a recreated enum (to text) and back (USING the new type).
  const movedToEnum = (code: string) => {
    const type = SET_TYPE.exec(ALTER_TABLE.exec(code)?.[2] ?? "")?.[2];
    return type !== undefined && recreatedEnums.has(qualifiedKey(type))
      ? qualifiedKey(type)
      : undefined;
  };
  const enumColumns = new Set(codes.flatMap((code) => (movedToEnum(code) ? [columnOf(code)] : [])));

  const review: DownReview = { notes: [], restoredLast: [] };
  for (const [i, code] of codes.entries()) {
    const note = (kind: DownNote["kind"], message: string) =>
      review.notes.push({ statement: i + 1, kind, message });
    const match = (pattern: RegExp) => pattern.exec(code)?.[1];

    const droppedTable = match(DROP_TABLE);
    if (droppedTable) {
      note("loses", `drops ${name(droppedTable)} and every row written to it since the up`);
      continue;
    }
    const createdTable = match(CREATE_TABLE);
    if (createdTable) {
      note("empty", `recreates ${name(createdTable)} empty: the rows the up dropped are gone`);
      continue;
    }
    const droppedSequence = match(DROP_SEQUENCE);
    if (droppedSequence) {
      note("loses", `drops ${name(droppedSequence)} and its current value`);
      continue;
    }
    const createdEnum = match(CREATE_ENUM);
    if (createdEnum && recreatedEnums.has(qualifiedKey(createdEnum))) {
      const values = listValues(addedEnumValues.get(qualifiedKey(createdEnum)) ?? []);
      note(
        "loses",
        `recreates ${name(createdEnum)} without ${values}: PostgreSQL can't drop an enum value`,
      );
      continue;
    }
    const altered = ALTER_TABLE.exec(code);
    if (altered?.[1] && altered[2]) {
      reviewAlterTable(altered[1], altered[2], note, review, {
        enumColumns,
        movedToEnum: movedToEnum(code),
        addedEnumValues,
      });
      continue;
    }
    const uniqueIndex = match(UNIQUE_INDEX);
    if (uniqueIndex) {
      note(
        "fails",
        `fails if rows written since the up break unique index ${quote(unquote(uniqueIndex))}`,
      );
    }
  }
  return review;
}

type Note = (kind: DownNote["kind"], message: string) => void;

function reviewAlterTable(
  table: string,
  action: string,
  note: Note,
  review: DownReview,
  context: {
    enumColumns: ReadonlySet<string>;
    movedToEnum: string | undefined;
    addedEnumValues: ReadonlyMap<string, readonly string[]>;
  },
): void {
  const column = (identifier: string) => `${name(table)}.${quote(unquote(identifier))}`;

  const dropped = DROP_COLUMN.exec(action)?.[1];
  if (dropped) {
    note("loses", `drops ${column(dropped)} and every value written to it since the up`);
    return;
  }
  const added = ADD_COLUMN.exec(action);
  if (added?.[1]) {
    const [schema = "public", tableName = ""] = qualifiedKey(table).split(/\.(.*)/s);
    review.restoredLast.push({ schema, table: tableName, column: unquote(added[1]) });
    const definition = added[2] ?? "";
    const failsWhenFilled = /\bNOT NULL\b/i.test(definition) && !/\bDEFAULT\b/i.test(definition);
    note(
      failsWhenFilled ? "fails" : "empty",
      `adds ${column(added[1])} back as the table's last column, without the values the up dropped` +
        (failsWhenFilled
          ? "; NOT NULL without a default, so it fails unless the table is empty"
          : ""),
    );
    return;
  }
  const retyped = SET_TYPE.exec(action);
  if (retyped?.[1] && retyped[2]) {
    const key = `${qualifiedKey(table)}.${unquote(retyped[1])}`;
    if (context.movedToEnum) {
      const values = listValues(context.addedEnumValues.get(context.movedToEnum) ?? []);
      note("fails", `fails while rows hold ${values} in ${column(retyped[1])}: update them first`);
    } else if (!context.enumColumns.has(key)) {
      note(
        "fails",
        `changes ${column(retyped[1])} back to ${retyped[2]}: a value that doesn't fit fails the ` +
          "down; numeric scale and timestamp precision are rounded",
      );
    }
    return;
  }
  const notNull = SET_NOT_NULL.exec(action)?.[1];
  if (notNull) {
    note("fails", `fails while rows written since the up hold NULL in ${column(notNull)}`);
    return;
  }
  const constraint = ADD_CONSTRAINT.exec(action);
  if (constraint?.[1]) {
    note(
      "fails",
      `fails if rows written since the up break ${constraint[2]?.toUpperCase()} constraint ${quote(unquote(constraint[1]))}`,
    );
  }
}

export interface DownFileInput {
  /** The migration's tag (`0002_notes`). */
  tag: string;
  /** Snapshot files the diff went from (the up's) and back to (its predecessor's, if any). */
  fromSnapshot: string;
  toSnapshot: string | undefined;
  statements: readonly string[];
  review: DownReview;
}

/** The down file: a header for the reviewer, then the statements between breakpoints. */
export function renderDownFile(input: DownFileInput): string {
  const { tag, fromSnapshot, toSnapshot, statements, review } = input;
  const back = toSnapshot ? `back to ${toSnapshot}` : "back to the empty schema";
  const lines = [
    `-- Down migration for ${tag}.sql, generated by \`npm run db:generate\`: drizzle-kit's diff`,
    `-- from ${fromSnapshot} ${back}.`,
    "-- Review it before committing (docs/migrations.md). The diff sees the schema only: SQL added",
    "-- to the up by hand (a backfill) is not undone here. If rolling back keeps every row that",
    "-- existed before the up, add a line `-- lossless`; the round-trip test then holds you to it.",
  ];
  if (review.notes.length === 0) {
    lines.push(
      "-- To review: nothing flagged (no statement drops data or re-checks rows written since the up).",
    );
  } else {
    lines.push("-- To review:");
    for (const note of review.notes) {
      lines.push(`--   statement ${note.statement}: ${note.message}`);
    }
  }
  for (const { schema, table, column } of review.restoredLast) {
    lines.push(`${RESTORED_LAST_MARKER} ${[schema, table, column].map(quote).join(".")}`);
  }
  return `${lines.join("\n")}\n${statements.join(`${STATEMENT_BREAKPOINT}\n`)}\n`;
}

/**
 * Columns a down file declares it adds back at the end of their tables
 * (`-- restored last: "public"."users"."nickname"`), for the round trip's column-order check.
 */
export function readRestoredLast(sql: string): RestoredColumn[] {
  const pattern = new RegExp(
    `^${RESTORED_LAST_MARKER} (${IDENT})\\.(${IDENT})\\.(${IDENT})\\s*$`,
    "gm",
  );
  return [...sql.matchAll(pattern)].map((m) => ({
    schema: unquote(m[1] ?? ""),
    table: unquote(m[2] ?? ""),
    column: unquote(m[3] ?? ""),
  }));
}

function columnOf(code: string): string {
  const altered = ALTER_TABLE.exec(code);
  const column = SET_TYPE.exec(altered?.[2] ?? "")?.[1] ?? "";
  return `${qualifiedKey(altered?.[1] ?? "")}.${unquote(column)}`;
}

/** `"public"."users"` for any spelling of a qualified name. */
function name(qualified: string): string {
  return qualifiedKey(qualified)
    .split(/\.(.*)/s)
    .filter(Boolean)
    .map(quote)
    .join(".");
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function listValues(values: readonly string[]): string {
  return values.map((value) => `'${value.replaceAll("'", "''")}'`).join(", ");
}
