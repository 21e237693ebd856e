/**
 * What a migration run can fail with. The CLI turns each class into an exit code
 * (src/cli/db.ts), so deploy scripts can tell "a statement failed" from "refused to run".
 */
import type { LintFinding } from "./lint.js";
import type { MigrationStatus } from "./status.js";

/** A statement of a migration (or down) file failed; what it ran before is rolled back. */
export class MigrationError extends Error {
  override readonly name = "MigrationError";
  constructor(
    /** Path of the `.sql` or `.down.sql` file. */
    readonly file: string,
    /** 1-based chunk (`--> statement-breakpoint`-separated) that failed. */
    readonly statement: number,
    /** 1-based line of the file where the error is (the statement's first line if unknown). */
    readonly line: number,
    readonly sql: string,
    /** What is left in the database: rolled back whole, or partly committed (see docs). */
    readonly outcome: string,
    cause: unknown,
  ) {
    super(
      `${file}:${line}: statement ${statement} failed: ${describeCause(cause)}\n` +
        `  ${excerpt(sql)}\n` +
        `  ${outcome}`,
      { cause },
    );
  }
}

/** Applied migrations no longer match the folder; `--allow-drift` overrides. */
export class MigrationDriftError extends Error {
  override readonly name = "MigrationDriftError";
  constructor(readonly status: MigrationStatus) {
    const changed = status.entries.flatMap((e) => (e.state === "changed" ? [e.migration.tag] : []));
    const missing = status.missingFiles.map((row) => `row ${row.id} (created_at ${row.createdAt})`);
    super(
      [
        "refusing to run: the database has drift (see `npm run db:status`; --allow-drift overrides)",
        ...changed.map((tag) => `  changed since applied: ${tag}.sql`),
        ...missing.map((row) => `  applied but not in the folder: ${row}`),
      ].join("\n"),
    );
  }
}

/** Pending migrations hold dangerous operations and the run requires `--allow-dangerous`. */
export class DangerousMigrationError extends Error {
  override readonly name = "DangerousMigrationError";
  constructor(readonly findings: readonly LintFinding[]) {
    super(
      [
        "refusing to run in production: pending migrations hold dangerous operations " +
          "(review them, then pass --allow-dangerous)",
        ...findings.map((f) => `  ${f.tag} statement ${f.statement}: ${f.rule}: ${f.message}`),
      ].join("\n"),
    );
  }
}

/** Another run held the migration lock for longer than the lock timeout. */
export class MigrationLockTimeoutError extends Error {
  override readonly name = "MigrationLockTimeoutError";
  constructor(
    readonly timeoutMs: number,
    readonly holder: string | undefined,
  ) {
    super(
      `gave up waiting ${timeoutMs} ms for the migration lock` +
        (holder ? ` (held by ${holder})` : ""),
    );
  }
}

/** The request can't be met as asked: a missing down file, a row without its file, ... */
export class MigrationPlanError extends Error {
  override name = "MigrationPlanError";
}

/** `--to TAG` names no migration of the journal, or none that is applied. */
export class UnknownMigrationError extends MigrationPlanError {
  override name = "UnknownMigrationError";
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  return typeof code === "string" ? `${cause.message} (SQLSTATE ${code})` : cause.message;
}

function excerpt(sql: string): string {
  const oneLine = sql.replace(/\s+/g, " ").trim();
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine;
}
