/**
 * The migration runner: status, up and rollback over drizzle-kit's folder and drizzle's own
 * bookkeeping table, so `drizzle-kit migrate` keeps working on the same database.
 *
 * What it adds to drizzle's migrator:
 * - a session advisory lock (`pg_advisory_lock(MIGRATION_LOCK_KEY)`) on the run's single
 *   connection, so concurrent deploys apply each migration once: the others wait, then find
 *   nothing pending;
 * - one transaction per migration (drizzle wraps the whole batch in one), so a failure keeps
 *   what was applied before it and rolls the failing migration back whole;
 * - pending migrations found by hash, not by "newer than the last timestamp", so a migration
 *   merged from an older branch is applied instead of silently skipped;
 * - down files, dry runs, a lint of dangerous operations, drift detection, a history table.
 *
 * Statements that PostgreSQL refuses inside a transaction block (CREATE INDEX CONCURRENTLY,
 * VACUUM, ...) must sit in their own `--> statement-breakpoint` chunk. A migration holding one
 * is run in segments: the chunks before it in one transaction, it alone, the rest in another.
 * Such a migration is not atomic; its row is written with its last segment, so a failure
 * leaves it pending with the earlier segments committed (write them idempotently, e.g.
 * `CREATE INDEX CONCURRENTLY IF NOT EXISTS`). A dry run reports these statements without
 * running them.
 *
 * @example
 * const connection = await connectForMigrations(config.database);
 * try {
 *   const { applied } = await migrateUp(connection, { folder: "drizzle", log: console.log });
 *   await rollback(connection, { folder: "drizzle", steps: applied.length });
 * } finally {
 *   await connection.close();
 * }
 */
import type { MigrationConnection } from "./connection.js";
import {
  DangerousMigrationError,
  MigrationDriftError,
  MigrationError,
  MigrationLockTimeoutError,
  MigrationPlanError,
  UnknownMigrationError,
} from "./errors.js";
import { type MigrationFile, readMigrationFolder } from "./files.js";
import { type LintFinding, lintMigrations } from "./lint.js";
import { nonTransactionalReason, type SqlChunk } from "./sql.js";
import { type AppliedRow, compareMigrations, type MigrationStatus } from "./status.js";

/** drizzle's defaults (`migrationsSchema`, `migrationsTable`); drizzle-kit migrate uses them. */
export const MIGRATIONS_TABLE = `"drizzle"."__drizzle_migrations"`;
/** This runner's log of every up and down, with when, how long and by whom. */
export const HISTORY_TABLE = `"drizzle"."__migration_history"`;
/** The session advisory lock every run of this runner takes ('migr' in ASCII). */
export const MIGRATION_LOCK_KEY = 0x6d696772;

export interface RunOptions {
  /** The drizzle-kit output folder (holds `meta/_journal.json`). */
  folder: string;
  /** Progress, warnings and (in a dry run) the SQL; nothing is printed without it. */
  log?: (line: string) => void;
  /** How long to wait for another run's lock. Default 5 minutes. */
  lockTimeoutMs?: number;
  /** Execute in one transaction that is rolled back; nothing changes. */
  dryRun?: boolean;
  /** Run although applied migrations no longer match the folder. */
  allowDrift?: boolean;
  /** Called under the lock just before anything changes (not in a dry run): the backup hook. */
  beforeChange?: (change: PlannedChange) => Promise<void>;
}

export interface PlannedChange {
  direction: "up" | "down";
  migrations: readonly MigrationFile[];
}

export interface UpOptions extends RunOptions {
  /** Apply pending migrations up to and including this tag only. */
  to?: string;
  /** Throw `DangerousMigrationError` when the lint finds anything (production without the flag). */
  refuseDangerous?: boolean;
}

export interface RollbackOptions extends RunOptions {
  /** Roll back this many migrations, most recently applied first. Default 1. */
  steps?: number;
  /** Roll back every migration applied after this one (which stays applied). */
  to?: string;
}

export interface SkippedStatement {
  file: string;
  statement: number;
  reason: string;
}

export interface RunResult {
  /** Applied (up) or rolled back (down), in the order it happened. */
  migrations: MigrationFile[];
  /** Lint findings for the pending migrations (up only). */
  findings: LintFinding[];
  /** Statements a dry run could not execute because they can't run in a transaction. */
  skipped: SkippedStatement[];
}

export interface StatusReport extends MigrationStatus {
  /** When each applied migration (by hash) was last applied by this runner. */
  appliedAt: ReadonlyMap<string, Date>;
  /** Migrations whose down file is missing or holds no SQL. */
  missingDown: MigrationFile[];
}

/** Where the folder and the database stand; takes no lock and changes nothing. */
export async function readMigrationStatus(
  connection: MigrationConnection,
  options: Pick<RunOptions, "folder">,
): Promise<StatusReport> {
  const migrations = readMigrationFolder(options.folder);
  const status = compareMigrations(migrations, await readAppliedRows(connection));
  return {
    ...status,
    appliedAt: await readAppliedAt(connection),
    missingDown: migrations.filter((migration) => migration.down.state !== "ready"),
  };
}

/** Applies pending migrations in journal order, each in its own transaction, under the lock. */
export async function migrateUp(
  connection: MigrationConnection,
  options: UpOptions,
): Promise<RunResult> {
  const log = options.log ?? (() => undefined);
  const migrations = readMigrationFolder(options.folder);
  const target = options.to === undefined ? undefined : findTag(migrations, options.to);

  return withMigrationLock(connection, options, async (lockPid) => {
    const status = compareMigrations(migrations, await readAppliedRows(connection));
    if (status.drift && !options.allowDrift) throw new MigrationDriftError(status);
    const pending = status.pending.filter((m) => target === undefined || m.idx <= target.idx);
    if (pending.length === 0) {
      log("nothing to apply");
      return { migrations: [], findings: [], skipped: [] };
    }

    const findings = lintMigrations(pending, {
      existingTables: await readTableSizes(connection),
    });
    // A dry run changes nothing, so it may preview what production would refuse.
    if (findings.length > 0 && options.refuseDangerous && !options.dryRun) {
      throw new DangerousMigrationError(findings);
    }
    for (const f of findings) log(`warning: ${f.tag} statement ${f.statement}: ${f.message}`);
    for (const entry of status.entries) {
      if (entry.state === "pending" && entry.outOfOrder && pending.includes(entry.migration)) {
        log(
          `note: ${entry.migration.tag} is older than the newest applied migration ` +
            "(merged from another branch); drizzle-kit migrate would skip it, this runner applies it",
        );
      }
    }

    const version = await serverVersionNum(connection);
    const scripts = pending.map(
      (migration): Script => ({
        migration,
        file: migration.file,
        segments: planSegments(migration, version),
        record: (durationMs) => recordUp(connection, migration, durationMs),
      }),
    );

    if (options.dryRun) {
      const skipped = await dryRun(connection, scripts, log, () => ensureTables(connection));
      return { migrations: pending, findings, skipped };
    }

    await options.beforeChange?.({ direction: "up", migrations: pending });
    await ensureTables(connection);
    for (const script of scripts) {
      log(`applying ${script.migration.tag}`);
      const ms = await runScript(connection, script, lockPid);
      log(`applied ${script.migration.tag} (${ms} ms)`);
    }
    return { migrations: pending, findings, skipped: [] };
  });
}

/**
 * Runs down files, most recently applied first, each in its own transaction, removing the
 * migration's row from drizzle's table in the same transaction.
 */
export async function rollback(
  connection: MigrationConnection,
  options: RollbackOptions,
): Promise<RunResult> {
  const log = options.log ?? (() => undefined);
  const migrations = readMigrationFolder(options.folder);
  if (options.to !== undefined) findTag(migrations, options.to);

  return withMigrationLock(connection, options, async (lockPid) => {
    const status = compareMigrations(migrations, await readAppliedRows(connection));
    if (status.drift && !options.allowDrift) throw new MigrationDriftError(status);

    // Most recently applied first: the reverse of what happened, whatever the journal order.
    const applied = [
      ...status.entries.flatMap((e) => (e.state === "pending" ? [] : [e])),
      ...status.missingFiles.map((row) => ({ row, migration: undefined })),
    ].toSorted((a, b) => b.row.id - a.row.id);

    let targets = applied.slice(0, options.steps ?? 1);
    if (options.to !== undefined) {
      const keep = applied.find((entry) => entry.migration?.tag === options.to);
      if (!keep) {
        throw new UnknownMigrationError(`${options.to} is not applied: nothing to roll back to`);
      }
      targets = applied.filter((entry) => entry.row.id > keep.row.id);
    }
    if (targets.length === 0) {
      log("nothing to roll back");
      return { migrations: [], findings: [], skipped: [] };
    }

    const plan = targets.map(({ migration, row }) => {
      if (!migration) {
        throw new MigrationPlanError(
          `applied migration row ${row.id} has no file in ${options.folder}: it can't be rolled back`,
        );
      }
      return { migration, row };
    });
    const withoutDown = plan.filter(({ migration }) => migration.down.state !== "ready");
    if (withoutDown.length > 0) {
      throw new MigrationPlanError(
        `no down migration (missing or empty): ${withoutDown.map(({ migration }) => migration.down.file).join(", ")}`,
      );
    }

    const version = await serverVersionNum(connection);
    const scripts = plan.map(
      ({ migration, row }): Script => ({
        migration,
        file: migration.down.file,
        segments: planSegments(
          { file: migration.down.file, chunks: migration.down.chunks },
          version,
        ),
        record: (durationMs) => recordDown(connection, migration, row, durationMs),
      }),
    );
    const rolledBack = plan.map(({ migration }) => migration);

    if (options.dryRun) {
      const skipped = await dryRun(connection, scripts, log);
      return { migrations: rolledBack, findings: [], skipped };
    }

    await options.beforeChange?.({ direction: "down", migrations: rolledBack });
    for (const script of scripts) {
      log(`rolling back ${script.migration.tag}`);
      const ms = await runScript(connection, script, lockPid);
      log(`rolled back ${script.migration.tag} (${ms} ms)`);
    }
    return { migrations: rolledBack, findings: [], skipped: [] };
  });
}

// --- locking -------------------------------------------------------------------------------

async function withMigrationLock<T>(
  connection: MigrationConnection,
  options: RunOptions,
  work: (lockPid: number) => Promise<T>,
): Promise<T> {
  const lockPid = await acquireLock(connection, options.lockTimeoutMs ?? 300_000, options.log);
  try {
    return await work(lockPid);
  } finally {
    // If the session is gone the lock went with it; an unlock error must not hide `work`'s.
    await connection
      .query(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`)
      .catch(() => undefined);
  }
}

/**
 * Takes the session lock, waiting up to `timeoutMs`; returns the backend pid holding it.
 * Advisory locks are per database, so runs against different databases never wait on each other.
 */
async function acquireLock(
  connection: MigrationConnection,
  timeoutMs: number,
  log: ((line: string) => void) | undefined,
): Promise<number> {
  const [first] = await connection.query<{ locked: boolean; pid: number }>(
    `select pg_try_advisory_lock(${MIGRATION_LOCK_KEY}) as locked, pg_backend_pid() as pid`,
  );
  if (!first) throw new Error("pg_try_advisory_lock returned no row");
  if (first.locked) return first.pid;

  const holder = await lockHolder(connection);
  log?.(`waiting for the migration lock, held by ${holder ?? "another session"}`);
  // lock_timeout applies to advisory locks too; it is reset before any migration runs.
  await connection.query(`set lock_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
  try {
    await connection.query(`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
  } catch (error) {
    if ((error as { code?: unknown }).code === "55P03") {
      throw new MigrationLockTimeoutError(timeoutMs, holder);
    }
    throw error;
  } finally {
    await connection.query("reset lock_timeout");
  }
  return first.pid;
}

async function lockHolder(connection: MigrationConnection): Promise<string | undefined> {
  const [row] = await connection.query<{ pid: number; application_name: string }>(
    `select a.pid, a.application_name
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and l.classid = 0 and l.objid = $1
        and l.database = (select oid from pg_database where datname = current_database())`,
    [MIGRATION_LOCK_KEY],
  );
  return row ? `pid ${row.pid} (${row.application_name || "no application_name"})` : undefined;
}

/** A reconnect would have dropped the lock (and any open transaction) without a word. */
async function assertLockHeld(connection: MigrationConnection, lockPid: number): Promise<void> {
  const [row] = await connection.query<{ pid: number }>("select pg_backend_pid() as pid");
  if (row?.pid !== lockPid) {
    throw new Error("the migration connection was replaced mid-run and lost its lock; aborting");
  }
}

// --- executing -----------------------------------------------------------------------------

type Segment =
  | { transactional: true; chunks: SqlChunk[] }
  | { transactional: false; chunk: SqlChunk; reason: string };

/**
 * Groups a file's chunks into what runs in a transaction and what can't. Done for every file
 * before anything runs, so a malformed file fails the run before it changes anything.
 */
function planSegments(script: Pick<MigrationFile, "file" | "chunks">, version: number): Segment[] {
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

/** One up or down file, planned: its segments and how to record it once it has run. */
interface Script {
  migration: MigrationFile;
  /** The file that runs: the migration's `.sql` or its `.down.sql`. */
  file: string;
  segments: Segment[];
  /** Writes the bookkeeping rows; runs in the transaction of the file's last segment. */
  record: (durationMs: number) => Promise<void>;
}

/** Runs a script for real; returns how long it took, in whole milliseconds. */
async function runScript(
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
async function dryRun(
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

// --- bookkeeping ---------------------------------------------------------------------------

/** drizzle-orm's migrator creates the same schema and table (pg-core dialect `migrate()`). */
async function ensureTables(connection: MigrationConnection): Promise<void> {
  await connection.execute(`
    create schema if not exists "drizzle";
    create table if not exists ${MIGRATIONS_TABLE} (
      id serial primary key,
      hash text not null,
      created_at bigint
    );
    create table if not exists ${HISTORY_TABLE} (
      id bigint generated always as identity primary key,
      tag text not null,
      hash text not null,
      direction text not null check (direction in ('up', 'down')),
      executed_at timestamptz not null default now(),
      duration_ms integer not null,
      executed_by text not null default current_user
    );
  `);
}

async function recordUp(
  connection: MigrationConnection,
  migration: MigrationFile,
  durationMs: number,
): Promise<void> {
  await connection.query(`insert into ${MIGRATIONS_TABLE} (hash, created_at) values ($1, $2)`, [
    migration.hash,
    migration.when,
  ]);
  await recordHistory(connection, migration, "up", durationMs);
}

async function recordDown(
  connection: MigrationConnection,
  migration: MigrationFile,
  row: AppliedRow,
  durationMs: number,
): Promise<void> {
  await connection.query(`delete from ${MIGRATIONS_TABLE} where id = $1`, [row.id]);
  await recordHistory(connection, migration, "down", durationMs);
}

async function recordHistory(
  connection: MigrationConnection,
  migration: MigrationFile,
  direction: "up" | "down",
  durationMs: number,
): Promise<void> {
  await connection.query(
    `insert into ${HISTORY_TABLE} (tag, hash, direction, duration_ms) values ($1, $2, $3, $4)`,
    [migration.tag, migration.hash, direction, Math.round(durationMs)],
  );
}

async function readAppliedRows(connection: MigrationConnection): Promise<AppliedRow[]> {
  if (!(await tableExists(connection, MIGRATIONS_TABLE))) return [];
  const rows = await connection.query<{ id: unknown; hash: string; created_at: unknown }>(
    `select id, hash, created_at from ${MIGRATIONS_TABLE} order by id`,
  );
  // bigint arrives as a string from postgres.js; the journal's `when` is a safe integer.
  return rows.map((row) => ({
    id: Number(row.id),
    hash: row.hash,
    createdAt: Number(row.created_at),
  }));
}

async function readAppliedAt(connection: MigrationConnection): Promise<Map<string, Date>> {
  if (!(await tableExists(connection, HISTORY_TABLE))) return new Map();
  const rows = await connection.query<{ hash: string; executed_at: Date | string }>(
    `select distinct on (hash) hash, executed_at from ${HISTORY_TABLE}
      where direction = 'up' order by hash, id desc`,
  );
  return new Map(rows.map((row) => [row.hash, new Date(row.executed_at)]));
}

async function tableExists(connection: MigrationConnection, table: string): Promise<boolean> {
  const [row] = await connection.query<{ found: boolean }>(
    "select to_regclass($1) is not null as found",
    [table],
  );
  return row?.found === true;
}

/**
 * Tables and their planner row estimates, for the lint. A table never analyzed (-1) counts as
 * empty when it has no pages yet and as large otherwise, as does a partitioned parent.
 */
async function readTableSizes(connection: MigrationConnection): Promise<Map<string, number>> {
  const rows = await connection.query<{ name: string; estimate: number }>(
    `select n.nspname || '.' || c.relname as name,
            case when c.reltuples >= 0 then c.reltuples::float8
                 when c.relkind = 'r' and pg_relation_size(c.oid) = 0 then 0
                 else 'Infinity'::float8 end as estimate
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p')
        and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg\\_toast%'`,
  );
  return new Map(rows.map((row) => [row.name, Number(row.estimate)]));
}

async function serverVersionNum(connection: MigrationConnection): Promise<number> {
  const [row] = await connection.query<{ version: string }>(
    "select current_setting('server_version_num') as version",
  );
  return Number(row?.version);
}

function findTag(migrations: readonly MigrationFile[], tag: string): MigrationFile {
  const found = migrations.find((migration) => migration.tag === tag);
  if (!found) throw new UnknownMigrationError(`no migration tagged ${tag} in the journal`);
  return found;
}
