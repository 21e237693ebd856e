/**
 * Reading migration SQL without a parser: drizzle's breakpoint chunks (the unit that is
 * executed and named in errors) and, inside them, top-level statements with comments and
 * literal contents blanked out (the unit the lint and the transaction check look at).
 *
 * @example
 * for (const chunk of splitChunks(readFileSync(file, "utf8"))) {
 *   const statements = splitStatements(chunk.text);
 *   const reason = statements.map((s) => nonTransactionalReason(s.code, 150000)).find(Boolean);
 * }
 */

/** drizzle-kit's statement separator; drizzle's migrator splits on exactly this string. */
export const STATEMENT_BREAKPOINT = "--> statement-breakpoint";

export interface SqlChunk {
  /** 1-based position among the file's chunks, as error messages count them. */
  index: number;
  /** 1-based line of the file where the chunk starts. */
  line: number;
  text: string;
  /** The chunk's statements; empty for a chunk of only whitespace and comments. */
  statements: SqlStatement[];
}

export interface SqlStatement {
  /** The statement as written, trimmed, without the terminating semicolon. */
  text: string;
  /**
   * Comments removed, string and dollar-quoted literals emptied (`''`, `$$$$`), whitespace
   * collapsed: safe to match keywords against. Quoted identifiers are kept as written.
   */
  code: string;
}

/**
 * Splits a migration file into drizzle's chunks. Chunks holding nothing but comments are kept
 * (so numbering matches the file) with no statements; the runner skips them.
 */
export function splitChunks(sql: string): SqlChunk[] {
  let line = 1;
  return sql.split(STATEMENT_BREAKPOINT).map((text, i) => {
    const chunk = { index: i + 1, line: line + leadingNewlines(text), text: text.trim() };
    line += countNewlines(text);
    return { ...chunk, statements: splitStatements(text) };
  });
}

/** True when `sql` holds at least one statement (not only comments and whitespace). */
export function hasStatements(sql: string): boolean {
  return splitStatements(sql).length > 0;
}

/**
 * Splits on top-level semicolons, honouring '...', E'...', "...", $tag$...$tag$, -- and
 * nested block comments.
 */
export function splitStatements(sql: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let start = 0;
  let code = "";
  const flush = (end: number) => {
    const normalized = code.replace(/\s+/g, " ").trim();
    if (normalized.length > 0) {
      statements.push({ text: sql.slice(start, end).trim(), code: normalized });
    }
    code = "";
  };

  let i = 0;
  while (i < sql.length) {
    const char = sql[i] ?? "";
    const next = sql[i + 1] ?? "";
    if (char === "-" && next === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end;
      code += " ";
    } else if (char === "/" && next === "*") {
      i = endOfBlockComment(sql, i);
      code += " ";
    } else if (char === "'") {
      const escapes = /[eE]/.test(sql[i - 1] ?? "") && !isIdentifierChar(sql[i - 2] ?? "");
      i = endOfQuoted(sql, i, "'", escapes);
      code += "''";
    } else if (char === '"') {
      const end = endOfQuoted(sql, i, '"', false);
      code += sql.slice(i, end);
      i = end;
    } else if (char === "$" && !isIdentifierChar(sql[i - 1] ?? "")) {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        i = close === -1 ? sql.length : close + tag.length;
        code += "$$$$";
      } else {
        code += char;
        i += 1;
      }
    } else if (char === ";") {
      flush(i);
      i += 1;
      start = i;
    } else {
      code += char;
      i += 1;
    }
  }
  flush(sql.length);
  return statements;
}

/**
 * Why `code` (a normalized statement) cannot run inside a transaction block, or undefined.
 * `serverVersionNum` is `server_version_num` (e.g. 150004): `ALTER TYPE ... ADD VALUE` is only
 * refused in a transaction before PostgreSQL 12.
 */
export function nonTransactionalReason(code: string, serverVersionNum: number): string | undefined {
  const rules: [RegExp, string][] = [
    [/^CREATE (UNIQUE )?INDEX CONCURRENTLY\b/i, "CREATE INDEX CONCURRENTLY"],
    [/^DROP INDEX CONCURRENTLY\b/i, "DROP INDEX CONCURRENTLY"],
    [/^REINDEX\b.*\bCONCURRENTLY\b/i, "REINDEX CONCURRENTLY"],
    [/^REINDEX (\(.*\) )?(SYSTEM|DATABASE)\b/i, "REINDEX SYSTEM/DATABASE"],
    [/^VACUUM\b/i, "VACUUM"],
    [/^(CREATE|DROP) DATABASE\b/i, "CREATE/DROP DATABASE"],
    [/^(CREATE|DROP) TABLESPACE\b/i, "CREATE/DROP TABLESPACE"],
    [/^ALTER SYSTEM\b/i, "ALTER SYSTEM"],
    [/^(CREATE|DROP) SUBSCRIPTION\b/i, "CREATE/DROP SUBSCRIPTION"],
  ];
  if (serverVersionNum < 120000) {
    rules.push([
      /^ALTER TYPE\b.*\bADD VALUE\b/i,
      "ALTER TYPE ... ADD VALUE (before PostgreSQL 12)",
    ]);
  }
  return rules.find(([pattern]) => pattern.test(code))?.[1];
}

/** An identifier as written: double-quoted (`""` escapes a quote) or plain. */
export const IDENT = `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
/** An identifier with an optional schema: `users`, `public.users`, `"public"."users"`. */
export const QUALIFIED = String.raw`${IDENT}(?:\s*\.\s*${IDENT})?`;

/** `"public"."users"`, `public.users` and `users` all become `public.users`. */
export function qualifiedKey(qualified: string): string {
  const parts = [...qualified.matchAll(new RegExp(IDENT, "g"))].map((m) => unquote(m[0]));
  return parts.length > 1 ? `${parts[0]}.${parts[1]}` : `public.${parts[0]}`;
}

/** Quoted identifiers keep their case; unquoted ones fold to lower case, as PostgreSQL does. */
export function unquote(identifier: string): string {
  return identifier.startsWith('"')
    ? identifier.slice(1, -1).replaceAll('""', '"')
    : identifier.toLowerCase();
}

function isIdentifierChar(char: string): boolean {
  return /[A-Za-z0-9_$]/.test(char);
}

/** Index just past the closing quote; a doubled quote (or, in E'', a backslash) escapes. */
function endOfQuoted(sql: string, open: number, quote: string, backslashEscapes: boolean): number {
  let i = open + 1;
  while (i < sql.length) {
    const char = sql[i];
    if (backslashEscapes && char === "\\") i += 2;
    else if (char === quote && sql[i + 1] === quote) i += 2;
    else if (char === quote) return i + 1;
    else i += 1;
  }
  return sql.length;
}

/** PostgreSQL block comments nest. */
function endOfBlockComment(sql: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < sql.length) {
    if (sql.startsWith("/*", i)) {
      depth += 1;
      i += 2;
    } else if (sql.startsWith("*/", i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  return sql.length;
}

function countNewlines(text: string): number {
  let count = 0;
  for (const char of text) if (char === "\n") count += 1;
  return count;
}

function leadingNewlines(text: string): number {
  return countNewlines(text.slice(0, text.length - text.trimStart().length));
}
