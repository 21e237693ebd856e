/**
 * Gaps in drizzle-kit 0.31's diff that a generated down would otherwise inherit, repaired from
 * the two snapshots. Each repair adds only what is missing, so it does nothing once drizzle-kit
 * emits the statement itself; delete a repair when the pinned drizzle-kit no longer needs it
 * (the generated-downs integration test shows when).
 *
 * - A column whose type and default change in the same step gets its new default only if the
 *   default is truthy: drizzle-kit folds SET DEFAULT into the type change behind an
 *   `if (columnDefault)`, so a default of `0` or `false` is silently left out. (Its forward
 *   `generate` has the same gap.)
 *
 * @example
 * const { statements, added } = restoreFalsyDefaults(reverse, before, after);
 */
import type { DrizzleSnapshot } from "./snapshots.js";
import { IDENT, QUALIFIED, qualifiedKey, splitStatements, unquote } from "./sql.js";

export interface Repair {
  /** 1-based position of the added statement in the repaired list. */
  statement: number;
  message: string;
}

const SET_TYPE = new RegExp(
  `^ALTER TABLE (${QUALIFIED}) ALTER COLUMN (${IDENT}) SET DATA TYPE\\b`,
  "i",
);
const SET_DEFAULT = new RegExp(
  `^ALTER TABLE (${QUALIFIED}) ALTER COLUMN (${IDENT}) (?:SET|DROP) DEFAULT\\b`,
  "i",
);

/**
 * `statements` (a diff from `from` to `to`) with a SET DEFAULT after each type change whose
 * target default is `0` or `false` and that has none.
 */
export function restoreFalsyDefaults(
  statements: readonly string[],
  from: DrizzleSnapshot,
  to: DrizzleSnapshot,
): { statements: string[]; repairs: Repair[] } {
  const column = (code: string, pattern: RegExp) => {
    const [, table, name] = pattern.exec(code) ?? [];
    if (!table || !name) return undefined;
    const key = `${qualifiedKey(table)}.${unquote(name)}`;
    const quoted = [...qualifiedKey(table).split(/\.(.*)/s, 2), unquote(name)]
      .map((part) => `"${part.replaceAll('"', '""')}"`)
      .join(".");
    return { key, quoted, table, name };
  };
  const codes = statements.map((text) => splitStatements(text)[0]?.code ?? "");
  const hasDefault = new Set(codes.map((code) => column(code, SET_DEFAULT)?.key));

  const result: string[] = [];
  const repairs: Repair[] = [];
  for (const [i, text] of statements.entries()) {
    result.push(text);
    const retyped = column(codes[i] ?? "", SET_TYPE);
    if (retyped === undefined || hasDefault.has(retyped.key)) continue;
    const target = findColumn(to, retyped.key);
    const source = findColumn(from, retyped.key);
    if (target?.default !== 0 && target?.default !== false) continue;
    if (source?.default === target.default) continue;
    const value = String(target.default);
    result.push(`ALTER TABLE ${retyped.table} ALTER COLUMN ${retyped.name} SET DEFAULT ${value};`);
    repairs.push({
      statement: result.length,
      message:
        `added to drizzle-kit's output: restores the default ${value} of ${retyped.quoted} ` +
        "(drizzle-kit 0.31 leaves a default of 0 or false out when the type changes too)",
    });
  }
  return { statements: result, repairs };
}

/** The column `schema.table.column` of a snapshot. */
function findColumn(snapshot: DrizzleSnapshot, key: string) {
  for (const table of Object.values(snapshot.tables)) {
    for (const column of Object.values(table.columns)) {
      if (`${table.schema || "public"}.${table.name}.${column.name}` === key) return column;
    }
  }
  return undefined;
}
