/**
 * The readable form of each `db:inspect` report. Pure: reports in, text out.
 */
import {
  formatBytes,
  formatCount,
  formatDuration,
  formatMilliseconds,
  formatPercent,
  formatTable,
  truncateQuery,
} from "./format.js";
import type { CacheReport, ConnectionsReport, LockWait, LongSession } from "./queries.js";
import type { TopStatement } from "./statements.js";

/** Room for a query at the end of a line on a typical terminal. */
export const QUERY_WIDTH = 60;

export function renderConnections(report: ConnectionsReport): string {
  const usable = report.maxConnections - report.superuserReservedConnections;
  const summary =
    `${report.total} client connections (besides this one); max_connections ${report.maxConnections}, ` +
    `${report.superuserReservedConnections} reserved for superusers: ${formatPercent(report.total / usable)} of ${usable} in use`;
  if (report.groups.length === 0) return `${summary}\n(no other sessions)`;
  const table = formatTable(
    [
      { header: "database" },
      { header: "application" },
      { header: "state" },
      { header: "count", align: "right" },
      { header: "waiting on lock", align: "right" },
      { header: "longest in state", align: "right" },
    ],
    report.groups.map((group) => [
      group.database ?? "-",
      group.application,
      group.state,
      String(group.count),
      String(group.waitingOnLock),
      formatDuration(group.longestInStateSeconds),
    ]),
  );
  return `${summary}\n\n${table}`;
}

export interface LockTreeRow {
  pid: number;
  /** 0 for a session that waits on nobody (the root of a chain). */
  depth: number;
  /** The edge that put this row under its parent; undefined for a root. */
  wait: LockWait | undefined;
  /** A pid already shown higher up (a cycle: a deadlock the server has not broken yet). */
  repeated: boolean;
}

/**
 * Lock waits as a tree: each root is a session that blocks others but waits on nobody, its
 * children the sessions waiting on it, and so on down the chain. A pid waiting on two sessions
 * appears under both. Without a root (every session waits: a deadlock cycle before the
 * server's `deadlock_timeout` check breaks it), the lowest pid stands in as the root.
 */
export function lockTree(waits: readonly LockWait[]): LockTreeRow[] {
  const waitersOf = new Map<number, LockWait[]>();
  for (const wait of waits) {
    const list = waitersOf.get(wait.blockingPid) ?? [];
    list.push(wait);
    waitersOf.set(wait.blockingPid, list);
  }
  const waiting = new Set(waits.map((wait) => wait.blockedPid));
  const blockers = [...waitersOf.keys()].sort((a, b) => a - b);
  const rows: LockTreeRow[] = [];
  const shown = new Set<number>();

  const visit = (pid: number, depth: number, wait: LockWait | undefined, path: Set<number>) => {
    const repeated = path.has(pid);
    rows.push({ pid, depth, wait, repeated });
    shown.add(pid);
    if (repeated) return;
    const next = new Set(path).add(pid);
    for (const child of waitersOf.get(pid) ?? []) visit(child.blockedPid, depth + 1, child, next);
  };

  for (const pid of blockers.filter((candidate) => !waiting.has(candidate))) {
    visit(pid, 0, undefined, new Set());
  }
  // Whatever is left sits on a cycle.
  for (const pid of blockers) if (!shown.has(pid)) visit(pid, 0, undefined, new Set());
  return rows;
}

export function renderLocks(waits: readonly LockWait[]): string {
  if (waits.length === 0) return "no session in this database is waiting on a lock";
  const blockerInfo = new Map(
    waits.map((wait) => [
      wait.blockingPid,
      {
        state: wait.blockingState,
        query: wait.blockingQuery,
        application: wait.blockingApplication,
        transaction: wait.blockingTransactionSeconds,
      },
    ]),
  );
  const sessionOf = (row: LockTreeRow) =>
    row.wait
      ? {
          state: "waiting",
          query: row.wait.blockedQuery,
          application: row.wait.blockedApplication,
          transaction: undefined,
        }
      : blockerInfo.get(row.pid);
  const rows = lockTree(waits).map((row) => {
    const session = sessionOf(row);
    const indent = row.depth === 0 ? "" : `${"  ".repeat(row.depth - 1)}└ `;
    const pid = row.pid === 0 ? "0 (prepared transaction)" : String(row.pid);
    const state =
      row.wait || !session
        ? (session?.state ?? "-")
        : `${session.state ?? "-"} (transaction ${formatDuration(session.transaction)})`;
    return [
      `${indent}${pid}${row.repeated ? " (cycle)" : ""}`,
      row.wait ? String(row.wait.blockingPid) : "-",
      formatDuration(row.wait?.waitedSeconds),
      row.wait?.lock ?? "-",
      session?.application || "-",
      state,
      truncateQuery(session?.query, QUERY_WIDTH),
    ];
  });
  const count = new Set(waits.map((wait) => wait.blockedPid)).size;
  return `${count} session(s) waiting on a lock\n\n${formatTable(
    [
      { header: "pid" },
      { header: "blocked by" },
      { header: "waited", align: "right" },
      { header: "lock" },
      { header: "application" },
      { header: "state" },
      { header: "query" },
    ],
    rows,
  )}`;
}

export function renderLong(sessions: readonly LongSession[], minSeconds: number): string {
  const threshold = formatDuration(minSeconds);
  if (sessions.length === 0) return `no transaction or query open longer than ${threshold}`;
  const table = formatTable(
    [
      { header: "pid" },
      { header: "database" },
      { header: "application" },
      { header: "state" },
      { header: "transaction", align: "right" },
      { header: "in state", align: "right" },
      { header: "waiting on" },
      { header: "query" },
    ],
    sessions.map((session) => [
      String(session.pid),
      session.database ?? "-",
      session.application,
      session.state ?? "(not visible)",
      formatDuration(session.transactionSeconds ?? session.querySeconds),
      formatDuration(session.stateSeconds),
      session.waitEvent ?? "-",
      truncateQuery(session.query, QUERY_WIDTH),
    ]),
  );
  return `${sessions.length} session(s) with a transaction or query open longer than ${threshold}\n\n${table}`;
}

export function renderCache(report: CacheReport): string {
  const summary = `shared-buffer hit ratio, all user tables: tables ${formatPercent(report.tableHitRatio)}, indexes ${formatPercent(report.indexHitRatio)}`;
  const tables =
    report.tables.length === 0
      ? "(no user tables)"
      : formatTable(
          [
            { header: "table" },
            { header: "size", align: "right" },
            { header: "indexes", align: "right" },
            { header: "table hit", align: "right" },
            { header: "index hit", align: "right" },
            { header: "blocks read", align: "right" },
          ],
          report.tables.map((table) => [
            `${table.schema}.${table.table}`,
            formatBytes(table.tableBytes),
            formatBytes(table.indexBytes),
            formatPercent(table.tableHitRatio),
            formatPercent(table.indexHitRatio),
            formatCount(table.blocksRead),
          ]),
        );
  const indexes =
    report.indexes.length === 0
      ? "(no indexes)"
      : formatTable(
          [
            { header: "index" },
            { header: "table" },
            { header: "size", align: "right" },
            { header: "hit", align: "right" },
            { header: "blocks read", align: "right" },
          ],
          report.indexes.map((index) => [
            `${index.schema}.${index.index}`,
            index.table,
            formatBytes(index.bytes),
            formatPercent(index.hitRatio),
            formatCount(index.blocksRead),
          ]),
        );
  return `${summary}\n\ntables, largest first\n${tables}\n\nindexes, largest first\n${indexes}`;
}

export function renderTop(statements: readonly TopStatement[]): string {
  if (statements.length === 0) return "pg_stat_statements has no statements for this database yet";
  return `statements of this database by total execution time (since pg_stat_statements_reset)\n\n${formatTable(
    [
      { header: "total ms", align: "right" },
      { header: "share", align: "right" },
      { header: "calls", align: "right" },
      { header: "mean ms", align: "right" },
      { header: "rows", align: "right" },
      { header: "hit", align: "right" },
      { header: "query" },
    ],
    statements.map((statement) => [
      formatMilliseconds(statement.totalMs),
      formatPercent(statement.share),
      formatCount(statement.calls),
      formatMilliseconds(statement.meanMs),
      formatCount(statement.rows),
      formatPercent(statement.hitRatio),
      truncateQuery(statement.query, QUERY_WIDTH),
    ]),
  )}`;
}
