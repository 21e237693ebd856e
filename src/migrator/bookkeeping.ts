/**
 * The runner's tables: drizzle's own `drizzle.__drizzle_migrations` (so `drizzle-kit migrate`
 * keeps working on the same database) and this runner's history of every up and down; plus the
 * catalog reads a run needs (table sizes for the lint, the server version).
 *
 * @example
 * const rows = await readAppliedRows(connection); // [] before the first migration
 */
import type { MigrationConnection } from "./connection.js";
import type { MigrationFile } from "./files.js";
import type { AppliedRow } from "./status.js";

/** drizzle's defaults (`migrationsSchema`, `migrationsTable`); drizzle-kit migrate uses them. */
export const MIGRATIONS_TABLE = `"drizzle"."__drizzle_migrations"`;
/** This runner's log of every up and down, with when, how long and by whom. */
export const HISTORY_TABLE = `"drizzle"."__migration_history"`;

/** drizzle-orm's migrator creates the same schema and table (pg-core dialect `migrate()`). */
export async function ensureTables(connection: MigrationConnection): Promise<void> {
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

export async function recordUp(
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

export async function recordDown(
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

export async function readAppliedRows(connection: MigrationConnection): Promise<AppliedRow[]> {
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

/** When each migration (by hash) was last applied by this runner. */
export async function readAppliedAt(connection: MigrationConnection): Promise<Map<string, Date>> {
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
export async function readTableSizes(
  connection: MigrationConnection,
): Promise<Map<string, number>> {
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

export async function serverVersionNum(connection: MigrationConnection): Promise<number> {
  const [row] = await connection.query<{ version: string }>(
    "select current_setting('server_version_num') as version",
  );
  return Number(row?.version);
}
