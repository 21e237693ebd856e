/**
 * Where `db:doctor` draws its lines, in one place. Small tables are left out of the checks
 * whose cost grows with size: a sequential scan of 500 rows is the right plan, and an unused
 * index on them costs next to nothing.
 */
export const THRESHOLDS = {
  /** Tables with fewer live rows are skipped by the scan and unused-index checks. */
  minTableRows: 10_000,
  /** Sequential scans (since the statistics were reset) before a table counts as scanned heavily. */
  minSeqScans: 100,
  /** Dead rows as a share of all rows from which a table is reported as bloated. */
  deadRatioWarn: 0.2,
  /** ... and at least this many dead rows (a 10-row table with 5 dead is no problem). */
  minDeadRows: 1_000,
  /** Shared-buffer hit ratio below which reads go to disk (or the OS cache) too often. */
  cacheHitWarn: 0.99,
  cacheHitFail: 0.8,
  /** Block reads before a hit ratio means anything (a fresh database reads everything once). */
  minCacheReads: 10_000,
  /** Share of the server's usable connections the configuration may claim before a warning. */
  connectionBudgetWarn: 0.8,
  /** The migration runner's own connection (`max: 1`, see docs/migrations.md). */
  migratorConnections: 1,
  /** Room for people and tools: db:doctor, db:inspect, a psql session. */
  adminConnections: 3,
  /** Statements listed by the top-queries check. */
  topStatements: 5,
} as const;
