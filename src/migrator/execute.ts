/**
 * Running one up or down file: its chunks grouped into segments (what runs in a transaction and
 * what PostgreSQL refuses inside one), each segment executed, the bookkeeping written with the
 * last one; or, for a dry run, everything in one transaction that is rolled back.
 *
 * Statements that can't run in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, ...)
 * must sit in their own `--> statement-breakpoint` chunk. A file holding one is run in
 * segments: the chunks before it in one transaction, it alone, the rest in another. Such a
 * file is not atomic; its row is written with its last segment, so a failure leaves it
 * pending with the earlier segments committed.
 *
 * @example
 * const script = { migration, file: migration.file, segments: planSegments(migration, version), record };
 * const ms = await runScript(connection, script, lockPid);
 */
import type { MigrationConnection } from "./connection.js";
import { MigrationError, MigrationPlanError } from "./errors.js";
import type { MigrationFile } from "./files.js";
import { assertLockHeld } from "./lock.js";
import { nonTransactionalReason, type SqlChunk } from "./sql.js";

export type Segment =
  | { transactional: true; chunks: SqlChunk[] }
  | { transactional: false; chunk: SqlChunk; reason: string };

/** One up or down file, planned: its segments and how to record it once it has run. */
export interface Script {
  migration: MigrationFile;
  /** The file that runs: the migration's `.sql` or its `.down.sql`. */
  file: string;
  segments: Segment[];
  /** Writes the bookkeeping rows; runs in the transaction of the file's last segment. */
  record: (durationMs: number) => Promise<void>;
}

export interface SkippedStatement {
  file: string;
  statement: number;
  reason: string;
}

/**
 * Groups a file's chunks into what runs in a transaction and what can't. Done for every file
 * before anything runs, so a malformed file fails the run before it changes anything.
 */
export function planSegments(
  script: Pick<MigrationFile, "file" | "chunks">,
  version: number,
): Segment[] {
  const segments: Segment[] = [];
  for (const chunk of script.chunks) {
    if (chunk.statements.length === 0) continue;
    const reason = chunk.statements
      .map((statement) => nonTransactionalReason(statement.code, version))
      .find((found) => found !== undefined);
    if (reason === undefined) {
      const last = segments.at(-1);
      if (last?.transactional) last.chunks.push(chunk);
      else segments.push({ transactional: true, chunks: [chunk] });
    } else if (chunk.statements.length > 1) {
      throw new MigrationPlanError(
        `${script.file}:${chunk.line}: ${reason} can't run inside a transaction, so it must be ` +
          "alone in its chunk: put `--> statement-breakpoint` lines around it",
      );
    } else {
      segments.push({ transactional: false, chunk, reason });
    }
  }
  return segments;
}

/** Runs a script for real; returns how long it took, in whole milliseconds. */
export async function runScript(
  connection: MigrationConnection,
  script: Script,
  lockPid: number,
): Promise<number> {
  const { file, segments } = script;
  const started = performance.now();
  const record = () => script.record(performance.now() - started);
  const atomic = segments.every((segment) => segment.transactional);
  const committed: number[] = [];
  const outcome = () =>
    atomic
      ? "rolled back: nothing of this file remains applied"
      : `not atomic (it holds statements that can't run in a transaction): statements ${committed.join(", ") || "none"} ` +
        "were committed before the failure and it is not recorded; make them idempotent or undo them before re-running";

  await assertLockHeld(connection, lockPid);
  if (segments.length === 0) await inTransaction(connection, record);
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    if (segment.transactional) {
      await inTransaction(connection, async () => {
        for (const chunk of segment.chunks) await runChunk(connection, file, chunk, outcome);
        if (last) await record();
      });
      committed.push(...segment.chunks.map((chunk) => chunk.index));
    } else {
      await runChunk(connection, file, segment.chunk, outcome);
      committed.push(segment.chunk.index);
      if (last) await inTransaction(connection, record);
    }
  }
  return Math.round(performance.now() - started);
}

/**
 * Executes every script in one transaction and rolls it back, printing the SQL. Statements
 * that can't run in a transaction are printed and reported, not run.
 */
export async function dryRun(
  connection: MigrationConnection,
  scripts: readonly Script[],
  log: (line: string) => void,
  prepare?: () => Promise<void>,
): Promise<SkippedStatement[]> {
  const skipped: SkippedStatement[] = [];
  const outcome = () => "dry run: rolled back, nothing was changed";
  await connection.execute("begin");
  try {
    await prepare?.();
    for (const { file, segments, record } of scripts) {
      log(`-- ${file}`);
      for (const segment of segments) {
        if (segment.transactional) {
          for (const chunk of segment.chunks) {
            log(chunk.text);
            await runChunk(connection, file, chunk, outcome);
          }
        } else {
          const { chunk, reason } = segment;
          log(`-- not run in a dry run (${reason} can't run inside a transaction):`);
          log(chunk.text);
          skipped.push({ file, statement: chunk.index, reason });
        }
      }
      await record(0);
    }
  } finally {
    await connection.execute("rollback");
  }
  log(`dry run: ${scripts.length} file(s) executed in a transaction that was rolled back`);
  return skipped;
}

async function runChunk(
  connection: MigrationConnection,
  file: string,
  chunk: SqlChunk,
  outcome: () => string,
): Promise<void> {
  try {
    await connection.execute(chunk.text);
  } catch (cause) {
    throw new MigrationError(
      file,
      chunk.index,
      errorLine(chunk, cause),
      chunk.text,
      outcome(),
      cause,
    );
  }
}

/** The file line PostgreSQL's error `position` (1-based, into the chunk) points at. */
function errorLine(chunk: SqlChunk, cause: unknown): number {
  const position = Number((cause as { position?: unknown } | undefined)?.position);
  if (!Number.isInteger(position) || position < 1) return chunk.line;
  return chunk.line + (chunk.text.slice(0, position - 1).match(/\n/g)?.length ?? 0);
}

async function inTransaction(
  connection: MigrationConnection,
  work: () => Promise<void>,
): Promise<void> {
  await connection.execute("begin");
  try {
    await work();
  } catch (error) {
    await connection.execute("rollback");
    throw error;
  }
  await connection.execute("commit");
}
