/**
 * Every metric the app exports, by name: the one list that the metrics module registers, the
 * Grafana dashboard and the alert rules may use (a test checks both against it). Names follow
 * Prometheus conventions: base units (seconds), `_total` for counters.
 */
export const METRICS = {
  // Pool (from `database.poolStats()` at scrape time, and the pool's wait events)
  poolConnections: "db_pool_connections", // gauge {state: idle|in_use}
  poolMaxConnections: "db_pool_max_connections", // gauge
  poolWaitingRequests: "db_pool_waiting_requests", // gauge
  poolLongestWaitSeconds: "db_pool_longest_wait_seconds", // gauge
  poolConnectionsOpened: "db_pool_connections_opened_total", // counter
  poolConnectionsClosed: "db_pool_connections_closed_total", // counter
  poolConnectionFailures: "db_pool_connection_failures_total", // counter
  poolWaitSeconds: "db_pool_wait_seconds", // histogram
  poolTimeouts: "db_pool_timeouts_total", // counter
  // Queries
  queryDurationSeconds: "db_query_duration_seconds", // histogram {operation}
  queryRows: "db_query_rows_total", // counter {operation}
  queryErrors: "db_query_errors_total", // counter {sqlstate_class, error}
  slowQueries: "db_slow_queries_total", // counter {operation}
  preparedStatements: "db_prepared_statements", // gauge: distinct statement texts prepared
  // Read replicas (DATABASE_REPLICA_URLS), from `database.replicaStats()` at scrape time
  replicaLagSeconds: "db_replica_lag_seconds", // gauge {replica}
  replicaLagBytes: "db_replica_lag_bytes", // gauge {replica}
  replicaInRotation: "db_replica_in_rotation", // gauge {replica}: 1 serving reads, 0 out
  replicaReads: "db_replica_reads_total", // counter {target: replica|primary}
  // Transactions
  transactions: "db_transactions_total", // counter {outcome: commit|rollback}
  transactionDurationSeconds: "db_transaction_duration_seconds", // histogram {outcome}
  transactionRetries: "db_transaction_retries_total", // counter {reason: serialization|deadlock}
  savepoints: "db_savepoints_total", // counter {outcome: commit|rollback}
  // The server, read at scrape time from pg_stat_activity / pg_stat_database / settings
  serverConnections: "db_server_connections", // gauge {state}
  serverMaxConnections: "db_server_max_connections", // gauge
  serverLongestTransactionSeconds: "db_server_longest_transaction_seconds", // gauge
  serverIdleInTransactionSessions: "db_server_idle_in_transaction_sessions", // gauge
  serverDeadlocks: "db_server_deadlocks_total", // counter (pg_stat_database.deadlocks)
  serverScrapeErrors: "db_server_scrape_errors_total", // counter
  // Migrations
  migrationsApplied: "db_migrations_applied", // gauge
  migrationsPending: "db_migrations_pending", // gauge
  migrationLastAppliedSeconds: "db_migration_last_applied_timestamp_seconds", // gauge
  // The result cache (src/cache), when CACHE_REDIS_URL is set; kind: user|account
  cacheRequests: "cache_requests_total", // counter {kind, result: hit|miss|bypass}
  cacheLoads: "cache_loads_total", // counter {kind}: loads after misses, one per concurrent miss group
  cacheFills: "cache_fills_total", // counter {kind, outcome: stored|fenced}
  cacheInvalidations: "cache_invalidations_total", // counter {kind}
  cacheErrors: "cache_errors_total", // counter {operation: read|fill|invalidate}
  // HTTP
  httpRequests: "http_requests_total", // counter {method, route, status_class}
  httpRequestDurationSeconds: "http_request_duration_seconds", // histogram {method, route}
  // The process
  buildInfo: "app_build_info", // gauge = 1 {version, node_version, driver}
  unexpectedErrors: "app_unexpected_errors_total", // counter {source}
  securityEvents: "app_security_events_total", // counter {event}: refused auth, rate limit, 413
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];
