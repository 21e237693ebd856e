/**
 * Checks of this process's configuration (src/env.ts's validated `Config`) against the server
 * it points at: the connection budget, the timeouts and the TLS mode. What a deploy decides,
 * so these findings are the same on every run until the configuration changes.
 */
import type postgres from "postgres";
import { isLocalServer } from "../db/connection-url.js";
import type { Config } from "../env.js";
import { formatCount, formatDuration, formatPercent } from "../inspect/format.js";
import type { ConnectionsReport } from "../inspect/queries.js";
import type { Finding } from "./report.js";
import { THRESHOLDS } from "./thresholds.js";

export interface ServerSettings {
  /** `PostgreSQL 17.2`. */
  version: string;
  /** PostgreSQL 16+: slots for `pg_use_reserved_connections` (0 before). */
  reservedConnections: number;
  /** The session's value: the app's setting when it sends one, else the role's or server's. */
  statementTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  /** This connection: encrypted, and with which protocol. */
  ssl: boolean;
  tlsVersion: string | null;
}

export async function readServerSettings(sql: postgres.Sql): Promise<ServerSettings> {
  const [row] = await sql<ServerSettings[]>`
    select 'PostgreSQL ' || split_part(current_setting('server_version'), ' ', 1) as version,
           coalesce(current_setting('reserved_connections', true), '0')::int as "reservedConnections",
           (select setting::float8 from pg_settings where name = 'statement_timeout') as "statementTimeoutMs",
           (select setting::float8 from pg_settings
            where name = 'idle_in_transaction_session_timeout') as "idleInTransactionTimeoutMs",
           coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false) as ssl,
           (select version from pg_stat_ssl where pid = pg_backend_pid()) as "tlsVersion"`;
  if (!row) throw new Error("no server settings");
  return row;
}

/**
 * Connections the configuration may open at peak against what the server allows:
 * instances × (pool + the metrics scrape's own connection) + the migrator + admin sessions,
 * vs max_connections minus the superuser (and, from 16, the reserved) slots.
 */
export function judgeConnectionBudget(
  config: Config,
  instances: number,
  connections: ConnectionsReport,
  settings: ServerSettings,
): Finding {
  const metrics = config.metrics.enabled && config.metrics.databaseStats ? 1 : 0;
  const perInstance = config.database.poolMax + metrics;
  const demand =
    instances * perInstance + THRESHOLDS.migratorConnections + THRESHOLDS.adminConnections;
  const reserved = connections.superuserReservedConnections + settings.reservedConnections;
  const usable = connections.maxConnections - reserved;
  const share = demand / Math.max(1, usable);
  const verdict =
    demand > usable ? "fail" : share > THRESHOLDS.connectionBudgetWarn ? "warn" : "ok";
  const arithmetic =
    `${instances} instance(s) × (${config.database.poolMax} pool` +
    (metrics ? ` + ${metrics} metrics` : "") +
    `) + ${THRESHOLDS.migratorConnections} migrator + ${THRESHOLDS.adminConnections} admin = ${demand}`;
  return {
    check: "connection budget",
    verdict,
    summary:
      `${arithmetic} of ${usable} usable (${formatPercent(share)})` +
      (verdict === "fail"
        ? ": at peak, connections will be refused; lower DATABASE_POOL_MAX or put PgBouncer in front"
        : verdict === "warn"
          ? `: over ${formatPercent(THRESHOLDS.connectionBudgetWarn)}, little room for a deploy's overlap`
          : ""),
    details: [
      `max_connections ${connections.maxConnections} − ${reserved} reserved = ${usable}; ` +
        `open now: ${formatCount(connections.total + 1)} (this one included)`,
    ],
  };
}

const seconds = (ms: number) => formatDuration(ms / 1000);

export function judgeStatementTimeout(config: Config, settings: ServerSettings): Finding {
  const check = "statement timeout";
  if (config.database.statementTimeoutMs > 0) {
    return {
      check,
      verdict: "ok",
      summary: `${seconds(config.database.statementTimeoutMs)} per statement (DATABASE_STATEMENT_TIMEOUT)`,
      details: [],
    };
  }
  if (settings.statementTimeoutMs > 0) {
    return {
      check,
      verdict: "ok",
      summary: `off in the app; ${seconds(settings.statementTimeoutMs)} from the role, database or server`,
      details: [],
    };
  }
  return {
    check,
    verdict: "warn",
    summary:
      "off: a runaway query holds its connection and locks until it ends; set " +
      "DATABASE_STATEMENT_TIMEOUT (behind PgBouncer: ALTER ROLE ... SET statement_timeout)",
    details: [],
  };
}

export function judgeIdleInTransactionTimeout(settings: ServerSettings): Finding {
  return settings.idleInTransactionTimeoutMs > 0
    ? {
        check: "idle-in-tx timeout",
        verdict: "ok",
        summary: `sessions idle in a transaction are ended after ${seconds(settings.idleInTransactionTimeoutMs)}`,
        details: [],
      }
    : {
        check: "idle-in-tx timeout",
        verdict: "warn",
        summary:
          "off: a client that stops mid-transaction keeps its locks until it disconnects; " +
          "ALTER ROLE ... SET idle_in_transaction_session_timeout = '1min'",
        details: [],
      };
}

/** Connect, pool-wait, idle and lifetime limits of the pool. */
export function judgePoolTimeouts(config: Config): Finding {
  const db = config.database;
  const summary =
    `connect ${formatDuration(db.connectTimeoutSeconds)}, wait for a connection ${seconds(db.poolTimeoutMs)}, ` +
    `idle ${db.idleTimeoutSeconds > 0 ? formatDuration(db.idleTimeoutSeconds) : "never closed"}, ` +
    `lifetime ${db.maxLifetimeSeconds > 0 ? formatDuration(db.maxLifetimeSeconds) : "unlimited"}`;
  return db.maxLifetimeSeconds === 0
    ? {
        check: "pool timeouts",
        verdict: "warn",
        summary: `${summary}: connections never recycled keep their prepared statements forever and don't rebalance after a failover (DATABASE_MAX_LIFETIME)`,
        details: [],
      }
    : { check: "pool timeouts", verdict: "ok", summary, details: [] };
}

export function judgeTls(config: Config, settings: ServerSettings): Finding {
  const mode = config.database.ssl;
  const actual = settings.ssl ? `encrypted (${settings.tlsVersion ?? "TLS"})` : "not encrypted";
  const check = "tls";
  if (mode === "verify-full") {
    return {
      check,
      verdict: "ok",
      summary: `verify-full: ${actual}, the server's certificate and name verified`,
      details: [],
    };
  }
  if (mode === "require") {
    return {
      check,
      verdict: "warn",
      summary: `require: ${actual}, but the server's certificate isn't verified, so an impostor can read everything; use verify-full`,
      details: [],
    };
  }
  if (!config.database.url || isLocalServer(config.database.url)) {
    return { check, verdict: "ok", summary: "disable, on a local connection", details: [] };
  }
  // In production the configuration refuses this unless DATABASE_SSL_ALLOW_PLAINTEXT says the
  // network is trusted (src/env.ts): a decision to flag, not a failure.
  return {
    check,
    verdict: "warn",
    summary:
      "disable: password and data cross the network in clear text; set DATABASE_SSL=verify-full",
    details: [],
  };
}
