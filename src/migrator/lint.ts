/**
 * A pure lint of migration SQL for operations that lose data or lock a busy table: SQL text in,
 * findings out. The runner feeds it the pending migrations plus the tables that exist (with
 * the planner's row estimates) and, in production, refuses findings without
 * `--allow-dangerous`.
 *
 * What is flagged, on a table that existed before the batch (a table created earlier in the
 * same batch is new and empty, so nothing on it is dangerous):
 * - `drop-table`, `drop-column`: the data is gone, and code still running reads it;
 * - `alter-column-type`: most type changes rewrite the table under ACCESS EXCLUSIVE;
 * - `index-not-concurrent`: CREATE INDEX without CONCURRENTLY blocks writes during the build;
 * and on a large table (`largeTableRows`, default 100,000 estimated rows):
 * - `set-not-null`: a full scan under ACCESS EXCLUSIVE;
 * - `volatile-default`: ADD COLUMN with a volatile default (`gen_random_uuid()`, `random()`,
 *   `clock_timestamp()`, `nextval()`), serial, identity or a stored generated column rewrites
 *   the table. `now()` is stable, not volatile, and is fine.
 *
 * It reads top-level statements only: SQL inside a DO block or function body is not checked.
 *
 * @example
 * const findings = lintMigrations([{ tag: "0002_drop_name", sql: 'ALTER TABLE "users" DROP COLUMN "name";' }]);
 * // [{ tag: "0002_drop_name", statement: 1, rule: "drop-column", table: "public.users", ... }]
 */
import { IDENT, QUALIFIED, qualifiedKey, splitChunks, unquote } from "./sql.js";

export type LintRule =
  | "drop-table"
  | "drop-column"
  | "alter-column-type"
  | "set-not-null"
  | "volatile-default"
  | "index-not-concurrent";

export interface LintFinding {
  tag: string;
  /** 1-based chunk (`--> statement-breakpoint`-separated statement) of the migration file. */
  statement: number;
  rule: LintRule;
  /** `schema.table`, unquoted. */
  table: string;
  message: string;
}

export interface LintOptions {
  /**
   * Tables that exist now (`schema.table`) with their estimated row counts. Omitted: every
   * table the batch does not create is assumed to exist and to be large.
   */
  existingTables?: ReadonlyMap<string, number>;
  /** Estimated rows from which a table counts as large. Default 100,000. */
  largeTableRows?: number;
}

const VOLATILE_DEFAULT =
  /\bDEFAULT\b.*\b(gen_random_uuid|uuid_generate_v[14]|random|clock_timestamp|timeofday|nextval)\s*\(/i;
const REWRITING_COLUMN = /\b(SMALLSERIAL|SERIAL[248]?|BIGSERIAL)\b|\bAS IDENTITY\b|\bSTORED\b/i;

/** Lints `migrations` as one batch, in order. */
export function lintMigrations(
  migrations: readonly { tag: string; sql: string }[],
  options: LintOptions = {},
): LintFinding[] {
  const { existingTables, largeTableRows = 100_000 } = options;
  const createdInBatch = new Set<string>();
  const existing = (table: string) =>
    !createdInBatch.has(table) && (existingTables ? existingTables.has(table) : true);
  const large = (table: string) =>
    existing(table) && (existingTables?.get(table) ?? Number.POSITIVE_INFINITY) >= largeTableRows;

  const findings: LintFinding[] = [];
  for (const { tag, sql } of migrations) {
    for (const chunk of splitChunks(sql)) {
      const report = (rule: LintRule, table: string, message: string) =>
        findings.push({ tag, statement: chunk.index, rule, table, message });
      for (const { code } of chunk.statements) {
        lintStatement(code, { createdInBatch, existing, large, report });
      }
    }
  }
  return findings;
}

interface Context {
  createdInBatch: Set<string>;
  existing: (table: string) => boolean;
  large: (table: string) => boolean;
  report: (rule: LintRule, table: string, message: string) => void;
}

function lintStatement(code: string, context: Context): void {
  const { createdInBatch, existing, large, report } = context;

  const created = new RegExp(
    `^CREATE (?:(?:GLOBAL |LOCAL )?(?:TEMP|TEMPORARY|UNLOGGED) )?TABLE (?:IF NOT EXISTS )?(${QUALIFIED})`,
    "i",
  ).exec(code);
  if (created?.[1]) {
    createdInBatch.add(qualifiedKey(created[1]));
    return;
  }

  const dropped = /^DROP TABLE (?:IF EXISTS )?(.*?)(?: CASCADE| RESTRICT)?$/i.exec(code);
  if (dropped?.[1]) {
    for (const name of splitTopLevel(dropped[1])) {
      const table = qualifiedKey(name);
      if (existing(table)) {
        report("drop-table", table, `drops table ${table}: its rows are lost`);
      }
      createdInBatch.delete(table);
    }
    return;
  }

  const index = new RegExp(
    `^CREATE (?:UNIQUE )?INDEX (CONCURRENTLY )?(?:IF NOT EXISTS )?(?:${QUALIFIED} )?ON (?:ONLY )?(${QUALIFIED})`,
    "i",
  ).exec(code);
  if (index?.[2]) {
    const table = qualifiedKey(index[2]);
    if (!index[1] && existing(table)) {
      report(
        "index-not-concurrent",
        table,
        `builds an index on existing table ${table} without CONCURRENTLY: writes to it are blocked until the build ends`,
      );
    }
    return;
  }

  const altered = new RegExp(
    String.raw`^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?(${QUALIFIED}) ?\*? (.*)$`,
    "i",
  ).exec(code);
  if (!altered?.[1] || !altered[2]) return;
  const table = qualifiedKey(altered[1]);
  for (const action of splitTopLevel(altered[2])) {
    const column = (match: RegExpExecArray | null) => `${table}.${unquote(match?.[1] ?? "?")}`;
    const drop = new RegExp(
      String.raw`^DROP (?!CONSTRAINT\b)(?:COLUMN )?(?:IF EXISTS )?(${IDENT})`,
      "i",
    ).exec(action);
    if (drop && existing(table)) {
      report("drop-column", table, `drops column ${column(drop)}: its values are lost`);
      continue;
    }
    const type = new RegExp(
      String.raw`^ALTER (?:COLUMN )?(${IDENT}) (?:SET DATA )?TYPE\b`,
      "i",
    ).exec(action);
    if (type && existing(table)) {
      report(
        "alter-column-type",
        table,
        `changes the type of ${column(type)}: unless the types are binary-compatible, the table and its indexes are rewritten under an ACCESS EXCLUSIVE lock`,
      );
      continue;
    }
    const notNull = new RegExp(String.raw`^ALTER (?:COLUMN )?(${IDENT}) SET NOT NULL\b`, "i").exec(
      action,
    );
    if (notNull && large(table)) {
      report(
        "set-not-null",
        table,
        `SET NOT NULL on ${column(notNull)} scans the whole table under an ACCESS EXCLUSIVE lock; validate a CHECK (... IS NOT NULL) NOT VALID constraint first`,
      );
      continue;
    }
    const added = new RegExp(
      String.raw`^ADD (?!CONSTRAINT\b|PRIMARY KEY\b|UNIQUE\b|CHECK\b|FOREIGN KEY\b|EXCLUDE\b)(?:COLUMN )?(?:IF NOT EXISTS )?(${IDENT}) (.*)$`,
      "i",
    ).exec(action);
    const definition = added?.[2] ?? "";
    if (
      added &&
      large(table) &&
      (VOLATILE_DEFAULT.test(definition) || REWRITING_COLUMN.test(definition))
    ) {
      report(
        "volatile-default",
        table,
        `adds ${column(added)} with a volatile default, serial, identity or stored generated value: the whole table is rewritten under an ACCESS EXCLUSIVE lock`,
      );
    }
  }
}

/** Splits on commas outside parentheses and quoted identifiers (literals are already blank). */
function splitTopLevel(code: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = "";
  for (const char of code) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && char === "(") depth += 1;
    else if (!quoted && char === ")") depth -= 1;
    if (char === "," && depth === 0 && !quoted) {
      parts.push(current.trim());
      current = "";
    } else {
      current += char;
    }
  }
  parts.push(current.trim());
  return parts.filter((part) => part.length > 0);
}
