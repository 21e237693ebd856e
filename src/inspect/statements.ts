/**
 * `db:inspect top`: statements by total execution time from pg_stat_statements. The extension
 * is optional: it needs `shared_preload_libraries` (a server restart) and `CREATE EXTENSION`
 * in the database, so "not available" is an expected answer, reported as
 * `StatementsUnavailableError` with what to do about it.
 */
import postgres from "postgres";

export interface TopStatement {
  /** pg_stat_statements' query id, as text (it is a bigint). */
  queryId: string | null;
  calls: number;
  totalMs: number;
  meanMs: number;
  rows: number;
  /** This statement's share of the database's total execution time. */
  share: number | null;
  /** Shared-buffer hit ratio of its block reads. */
  hitRatio: number | null;
  /** Normalised text (`$1` for constants); `<insufficient privilege>` for other roles' statements without pg_read_all_stats. */
  query: string | null;
}

/** pg_stat_statements can't be read here; the message says why and how to fix it. */
export class StatementsUnavailableError extends Error {
  override readonly name = "StatementsUnavailableError";
}

/** SQLSTATEs that mean "this server can't answer", mapped to advice. */
const UNAVAILABLE: Record<string, string> = {
  // object_not_in_prerequisite_state: the library is not preloaded.
  "55000":
    "pg_stat_statements is installed but not loaded: add it to shared_preload_libraries and restart the server",
  "42501":
    "no permission to read pg_stat_statements: grant pg_read_all_stats (or SELECT on the view) to this role",
  // undefined_column: total_exec_time arrived with pg_stat_statements 1.8 (PostgreSQL 13).
  "42703":
    "pg_stat_statements is older than 1.8 (PostgreSQL 13): run ALTER EXTENSION pg_stat_statements UPDATE",
};

/**
 * The `limit` statements of the current database with the most total execution time.
 * Throws `StatementsUnavailableError` when the extension is missing, unloaded or unreadable.
 */
export async function readTopStatements(sql: postgres.Sql, limit: number): Promise<TopStatement[]> {
  const [extension] = await sql<{ schema: string }[]>`
    select n.nspname as schema
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'pg_stat_statements'`;
  if (!extension) {
    throw new StatementsUnavailableError(
      "pg_stat_statements is not installed in this database: add it to shared_preload_libraries, restart, then CREATE EXTENSION pg_stat_statements",
    );
  }
  try {
    // Qualified by the extension's schema: it needn't be on the search_path.
    return [
      ...(await sql<TopStatement[]>`
        select queryid::text as "queryId",
               calls::float8 as calls,
               total_exec_time as "totalMs",
               mean_exec_time as "meanMs",
               rows::float8 as rows,
               total_exec_time / nullif(sum(total_exec_time) over (), 0) as share,
               shared_blks_hit::float8 / nullif(shared_blks_hit + shared_blks_read, 0) as "hitRatio",
               query
        from ${sql(extension.schema)}.pg_stat_statements
        where dbid = (select oid from pg_database where datname = current_database())
        order by total_exec_time desc
        limit ${limit}`),
    ];
  } catch (error) {
    const advice = error instanceof postgres.PostgresError ? UNAVAILABLE[error.code] : undefined;
    if (advice) throw new StatementsUnavailableError(advice);
    throw error;
  }
}
