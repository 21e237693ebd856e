/**
 * What `db:inspect` reads from the server's statistics views. Every query leaves out its own
 * session (`pg_backend_pid()`), casts bigint and numeric to float8 (postgres.js returns int8 as
 * a string) and returns durations in seconds.
 *
 * Sessions of other roles show most columns as NULL unless the connecting role has
 * `pg_read_all_stats` (or is a superuser): they are listed, with their state "(not visible)".
 */
import type postgres from "postgres";

export interface ConnectionGroup {
  database: string | null;
  application: string;
  state: string;
  count: number;
  /** Sessions of the group waiting on a heavyweight lock right now. */
  waitingOnLock: number;
  /** The longest time a session of the group has been in this state. */
  longestInStateSeconds: number | null;
}

export interface ConnectionsReport {
  /** Client sessions on the whole server, this one excluded. */
  total: number;
  maxConnections: number;
  superuserReservedConnections: number;
  groups: ConnectionGroup[];
}

/** Client sessions server-wide (max_connections is a server-wide budget), grouped. */
export async function readConnections(sql: postgres.Sql): Promise<ConnectionsReport> {
  const groups = await sql<ConnectionGroup[]>`
    select datname as database,
           coalesce(nullif(application_name, ''), '(none)') as application,
           coalesce(state, '(not visible)') as state,
           count(*)::int as count,
           (count(*) filter (where wait_event_type = 'Lock'))::int as "waitingOnLock",
           extract(epoch from max(now() - state_change))::float8 as "longestInStateSeconds"
    from pg_stat_activity
    where backend_type = 'client backend' and pid <> pg_backend_pid()
    group by 1, 2, 3
    order by count(*) desc, 1, 2, 3`;
  const [settings] = await sql<{ max: number; reserved: number }[]>`
    select current_setting('max_connections')::int as max,
           current_setting('superuser_reserved_connections')::int as reserved`;
  return {
    total: groups.reduce((sum, group) => sum + group.count, 0),
    maxConnections: settings?.max ?? 0,
    superuserReservedConnections: settings?.reserved ?? 0,
    groups: [...groups],
  };
}

export interface LockWait {
  blockedPid: number;
  /** 0 for a prepared transaction (it has no session), as `pg_blocking_pids` reports it. */
  blockingPid: number;
  /** Since the lock wait began (`pg_locks.waitstart`, PostgreSQL 14+). */
  waitedSeconds: number | null;
  /** The ungranted lock(s): `RowExclusiveLock on accounts`, `ExclusiveLock on tuple of accounts`, `ShareLock on transactionid`. */
  lock: string | null;
  blockedApplication: string | null;
  blockedQuery: string | null;
  blockingApplication: string | null;
  blockingState: string | null;
  /** Age of the blocking session's transaction. */
  blockingTransactionSeconds: number | null;
  blockingQuery: string | null;
}

/**
 * Every (waiting, blocking) pair in the current database. Relation names resolve only in the
 * database they belong to, and a lock wait doesn't cross databases, so this one is enough.
 * `pg_blocking_pids` briefly locks the lock manager: it is called only for waiting sessions.
 */
export async function readLockWaits(sql: postgres.Sql): Promise<LockWait[]> {
  return sql<LockWait[]>`
    with waiting as (
      select * from pg_stat_activity
      where wait_event_type = 'Lock' and datname = current_database() and pid <> pg_backend_pid()
    )
    select blocked.pid as "blockedPid",
           blocker.pid as "blockingPid",
           extract(epoch from now() - wait.started)::float8 as "waitedSeconds",
           wait.lock,
           blocked.application_name as "blockedApplication",
           blocked.query as "blockedQuery",
           blocking.application_name as "blockingApplication",
           blocking.state as "blockingState",
           extract(epoch from now() - blocking.xact_start)::float8 as "blockingTransactionSeconds",
           blocking.query as "blockingQuery"
    from waiting blocked
    cross join lateral unnest(pg_blocking_pids(blocked.pid)) as blocker(pid)
    left join pg_stat_activity blocking on blocking.pid = blocker.pid
    left join lateral (
      select min(l.waitstart) as started,
             string_agg(distinct l.mode || ' on ' || case
               when l.locktype = 'relation' then l.relation::regclass::text
               -- a row: "tuple of accounts", not to be mistaken for a lock on the table
               when l.relation is not null then l.locktype || ' of ' || l.relation::regclass::text
               else l.locktype
             end, ', ') as lock
      from pg_locks l
      where l.pid = blocked.pid and not l.granted
    ) wait on true
    order by blocker.pid, blocked.pid`;
}

export interface LongSession {
  pid: number;
  database: string | null;
  user: string | null;
  application: string;
  state: string | null;
  transactionSeconds: number | null;
  querySeconds: number | null;
  /** Time in the current state: for "idle in transaction", how long it has sat idle. */
  stateSeconds: number | null;
  waitEvent: string | null;
  query: string | null;
}

/**
 * Sessions (server-wide: an old transaction anywhere holds back vacuum everywhere) whose
 * transaction, or statement outside one, started more than `minSeconds` ago; idle sessions
 * are never listed, idle-in-transaction ones are.
 */
export async function readLongSessions(
  sql: postgres.Sql,
  minSeconds: number,
): Promise<LongSession[]> {
  return sql<LongSession[]>`
    select pid,
           datname as database,
           usename as "user",
           coalesce(nullif(application_name, ''), '(none)') as application,
           state,
           extract(epoch from now() - xact_start)::float8 as "transactionSeconds",
           extract(epoch from now() - query_start)::float8 as "querySeconds",
           extract(epoch from now() - state_change)::float8 as "stateSeconds",
           case when wait_event is not null then wait_event_type || ':' || wait_event end as "waitEvent",
           query
    from pg_stat_activity
    where backend_type = 'client backend'
      and pid <> pg_backend_pid()
      and state is distinct from 'idle'
      and now() - coalesce(xact_start, query_start) > make_interval(secs => ${minSeconds})
    order by coalesce(xact_start, query_start)`;
}

export interface TableCache {
  schema: string;
  table: string;
  tableBytes: number;
  indexBytes: number;
  /** Share of heap block reads served from shared buffers; null when never read. */
  tableHitRatio: number | null;
  indexHitRatio: number | null;
  /** Blocks read from outside shared buffers (the OS cache or disk). */
  blocksRead: number;
}

export interface IndexCache {
  schema: string;
  table: string;
  index: string;
  bytes: number;
  hitRatio: number | null;
  blocksRead: number;
}

export interface CacheReport {
  /** All user tables together (not only the `limit` shown). */
  tableHitRatio: number | null;
  indexHitRatio: number | null;
  tables: TableCache[];
  indexes: IndexCache[];
}

/**
 * The largest tables and indexes with their hit ratios. `pg_relation_size` takes an
 * ACCESS SHARE lock, so this waits behind running DDL: the connection's `lock_timeout`
 * bounds that wait.
 */
export async function readCache(sql: postgres.Sql, limit: number): Promise<CacheReport> {
  const [totals] = await sql<{ tableHitRatio: number | null; indexHitRatio: number | null }[]>`
    select sum(heap_blks_hit)::float8 / nullif(sum(heap_blks_hit + heap_blks_read), 0) as "tableHitRatio",
           sum(idx_blks_hit)::float8 / nullif(sum(idx_blks_hit + idx_blks_read), 0) as "indexHitRatio"
    from pg_statio_user_tables`;
  const tables = await sql<TableCache[]>`
    select schemaname as schema,
           relname as "table",
           pg_relation_size(relid)::float8 as "tableBytes",
           pg_indexes_size(relid)::float8 as "indexBytes",
           heap_blks_hit::float8 / nullif(heap_blks_hit + heap_blks_read, 0) as "tableHitRatio",
           idx_blks_hit::float8 / nullif(idx_blks_hit + idx_blks_read, 0) as "indexHitRatio",
           (heap_blks_read + coalesce(idx_blks_read, 0))::float8 as "blocksRead"
    from pg_statio_user_tables
    order by pg_total_relation_size(relid) desc, 1, 2
    limit ${limit}`;
  const indexes = await sql<IndexCache[]>`
    select schemaname as schema,
           relname as "table",
           indexrelname as index,
           pg_relation_size(indexrelid)::float8 as bytes,
           idx_blks_hit::float8 / nullif(idx_blks_hit + idx_blks_read, 0) as "hitRatio",
           idx_blks_read::float8 as "blocksRead"
    from pg_statio_user_indexes
    order by pg_relation_size(indexrelid) desc, 1, 3
    limit ${limit}`;
  return {
    tableHitRatio: totals?.tableHitRatio ?? null,
    indexHitRatio: totals?.indexHitRatio ?? null,
    tables: [...tables],
    indexes: [...indexes],
  };
}
