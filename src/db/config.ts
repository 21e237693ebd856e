/**
 * The database variables: their rules, and the `DatabaseConfig` they resolve to (with the
 * settings a `DATABASE_URL` query may carry, a password file, TLS). Pure; `src/env.ts`, the only
 * reader of `process.env`, validates them with the others.
 *
 * Precedence for connection settings, highest first:
 *   1. an explicit variable (`DATABASE_SSL`, `DATABASE_APPLICATION_NAME`, ...),
 *   2. the same setting in the `DATABASE_URL` query (`sslmode`, `application_name`,
 *      `connect_timeout`, `statement_timeout`, ...),
 *   3. the default below.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ROLE_PREFIX } from "../roles/names.js";
import {
  applyPasswordFile,
  formatDatabaseUrl,
  isDatabaseUrl,
  isLocalServer,
  parseDatabaseUrl,
} from "./connection-url.js";

export const SSL_MODES = ["disable", "require", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** A variable and what is wrong with it (never its value). */
export interface ConfigProblem {
  variable: string;
  message: string;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/**
 * The database's variables with their rules. Defaults that depend on the URL query are applied
 * by `resolveDatabase`, so those variables stay optional here.
 */
export const DATABASE_VARIABLES = {
  DATABASE_URL: z
    .string()
    .refine(isDatabaseUrl, "must be a postgres:// or postgresql:// URL")
    .optional(),
  /** Where the embedded database (PGlite) keeps its files when DATABASE_URL is unset. */
  PGLITE_DATA_DIR: z.string().min(1).default(".data/pglite"),
  DATABASE_POOL_MAX: int(1, 1000).default(10),
  /**
   * Queries sent on one connection before the first answers (postgres.js pipelining); 1 = one
   * at a time. A transaction always has its connection to itself.
   */
  DATABASE_PIPELINE: int(1, 100).default(4),
  /** Seconds to wait for a new connection. */
  DATABASE_CONNECT_TIMEOUT: int(1, 600).optional(),
  /** Seconds an idle pooled connection is kept. */
  DATABASE_IDLE_TIMEOUT: int(0, 86_400).default(20),
  /** Seconds after which a connection is retired (lets PgBouncer/failover rebalance). */
  DATABASE_MAX_LIFETIME: int(0, 86_400).default(1800),
  /** Milliseconds; 0 disables. Applied per connection as `statement_timeout`. */
  DATABASE_STATEMENT_TIMEOUT: int(0, 86_400_000).optional(),
  /** Milliseconds a query or transaction waits for a free pooled connection before failing. */
  DATABASE_POOL_TIMEOUT: int(1, 600_000).default(5_000),
  DATABASE_APPLICATION_NAME: z.string().min(1).max(63).optional(),
  DATABASE_SSL: z.enum(SSL_MODES).optional(),
  /** PEM file with the CA that signed the server certificate (verify-full). */
  DATABASE_SSL_CA: z.string().min(1).optional(),
  /** `true`: let a production process talk to a remote server without TLS (docs/security.md). */
  DATABASE_SSL_ALLOW_PLAINTEXT: bool.default(false),
  /** File holding DATABASE_URL's password: a Docker or Kubernetes secret (docs/security.md). */
  DATABASE_PASSWORD_FILE: z.string().min(1).optional(),
  /** Named prepared statements; turn off behind PgBouncer in transaction mode. */
  DATABASE_PREPARE: bool.default(true),
  /**
   * What DATABASE_URL reaches: PostgreSQL itself (`none`) or PgBouncer in transaction pooling
   * mode, where session state doesn't survive a transaction (docs/scaling.md).
   */
  DATABASE_POOLER: z.enum(["none", "pgbouncer-transaction"]).default("none"),
  /** Queries slower than this (ms) are logged at warn. */
  DATABASE_SLOW_QUERY_MS: int(0, 86_400_000).default(500),
  /** Log bound parameters with queries. Development only: they may hold personal data. */
  DATABASE_LOG_PARAMS: bool.default(false),
  /** Log every query at debug level (duration, rows). */
  DATABASE_LOG_QUERIES: bool.default(false),
  /**
   * Streaming replicas that serve reads, comma-separated URLs; unset: every query goes to
   * DATABASE_URL. Each URL may carry its own `sslmode`, `application_name`, ... (src/db/replicas.ts).
   */
  DATABASE_REPLICA_URLS: z.string().optional(),
  /** A replica further behind the primary than this (ms) is taken out of rotation. */
  DATABASE_REPLICA_MAX_LAG_MS: int(0, 3_600_000).default(5_000),
  /** How often (ms) each replica's replay position and the primary's WAL position are read. */
  DATABASE_REPLICA_CHECK_MS: int(50, 60_000).default(1_000),
  /** db:migrate/status/rollback's login, the owner role (docs/security.md); unset: DATABASE_URL. */
  MIGRATION_DATABASE_URL: z
    .string()
    .refine(isDatabaseUrl, "must be a postgres:// or postgresql:// URL")
    .optional(),
  /** `db:roles` names its roles `<prefix>_owner`, `_app` and `_readonly` (cluster-wide names). */
  DATABASE_ROLE_PREFIX: z
    .string()
    .regex(ROLE_PREFIX, "1-40 lower-case letters, digits or _, starting with a letter")
    .default("ledger"),
};

/** The validated database variables, and the environment the TLS rule depends on. */
export type DatabaseEnv = z.output<z.ZodObject<typeof DATABASE_VARIABLES>> & { NODE_ENV: string };

export interface DatabaseConfig {
  /** `postgres` for a server URL, `pglite` for the embedded default. */
  driver: "postgres" | "pglite";
  /** `DATABASE_POOLER`: `pgbouncer-transaction` when the URL reaches PgBouncer in transaction mode. */
  pooler: "none" | "pgbouncer-transaction";
  /**
   * Connection URL without the query settings that were resolved into fields below, with the
   * password of `DATABASE_PASSWORD_FILE` when set. Log it only through `redactUrl`.
   */
  url: string | undefined;
  pgliteDataDir: string;
  poolMax: number;
  /** Queries in flight per connection (`DATABASE_PIPELINE`). */
  pipeline: number;
  connectTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  maxLifetimeSeconds: number;
  statementTimeoutMs: number;
  poolTimeoutMs: number;
  applicationName: string;
  ssl: SslMode;
  /** PEM text of the CA, read at parse time so a missing file is a configuration error. */
  sslCa: string | undefined;
  prepare: boolean;
  slowQueryMs: number;
  logParams: boolean;
  logQueries: boolean;
  /** `DATABASE_REPLICA_URLS`, each resolved like DATABASE_URL (its own TLS and settings). */
  replicas: readonly DatabaseConfig[];
  replicaMaxLagMs: number;
  replicaCheckMs: number;
}

/** libpq's `sslmode` values mapped onto the three this template supports. */
const SSLMODE_FROM_URL: Record<string, SslMode> = {
  disable: "disable",
  allow: "disable",
  prefer: "disable",
  require: "require",
  "verify-ca": "verify-full",
  "verify-full": "verify-full",
};

/** Query parameters read into config fields and removed from the URL handed to the driver. */
const RESOLVED_QUERY_PARAMS = [
  "sslmode",
  "sslrootcert",
  "application_name",
  "connect_timeout",
  "statement_timeout",
] as const;

/** libpq's `target_session_attrs` values. */
const TARGET_SESSION_ATTRS = [
  "any",
  "read-write",
  "read-only",
  "primary",
  "standby",
  "prefer-standby",
] as const;

/**
 * libpq's `target_session_attrs` as postgres.js should get it; undefined: none; null: invalid.
 * postgres.js decides `read-write` from `default_transaction_read_only` alone, which a hot
 * standby reports as `off` (PostgreSQL 14+), so it would take a standby for the primary and
 * writes would fail with 25006 after a failover. libpq's `read-write` also refuses a server in
 * hot standby: postgres.js's `primary` is that check. `any` is libpq's default, which
 * postgres.js doesn't accept by name.
 */
function targetSessionAttrs(value: string | null): string | undefined | null {
  if (value === null || value === "any") return undefined;
  if (!(TARGET_SESSION_ATTRS as readonly string[]).includes(value)) return null;
  return value === "read-write" ? "primary" : value;
}

/** `MIGRATION_DATABASE_URL` with DATABASE_URL's other settings (TLS, timeouts); problems name it. */
export function resolveMigrationDatabase(
  env: DatabaseEnv,
  database: DatabaseConfig,
  problems: ConfigProblem[],
  pgHost: string | undefined,
): DatabaseConfig {
  // Migrations write: replicas are never theirs.
  if (!env.MIGRATION_DATABASE_URL) return { ...database, replicas: [] };
  if (!env.DATABASE_URL) {
    problems.push({ variable: "MIGRATION_DATABASE_URL", message: "needs DATABASE_URL" });
    return database;
  }
  const own: ConfigProblem[] = [];
  // Its password is in its URL: DATABASE_PASSWORD_FILE holds the app role's.
  // A direct connection by purpose: migrations need session state (advisory lock, SET).
  const overrides = {
    DATABASE_URL: env.MIGRATION_DATABASE_URL,
    DATABASE_PASSWORD_FILE: undefined,
    DATABASE_POOLER: "none" as const,
  };
  const resolved = resolveDatabase(
    { ...env, ...overrides, DATABASE_REPLICA_URLS: undefined },
    own,
    pgHost || undefined,
  );
  addRenamed(problems, own, "MIGRATION_DATABASE_URL");
  return resolved;
}

/** `own` problems into `problems`, DATABASE_URL's named `variable`, without repeats. */
function addRenamed(problems: ConfigProblem[], own: ConfigProblem[], variable: string) {
  for (const p of own) {
    const named = p.variable === "DATABASE_URL" ? { ...p, variable } : p;
    if (!problems.some((q) => q.variable === named.variable && q.message === named.message)) {
      problems.push(named);
    }
  }
}

/**
 * `DATABASE_REPLICA_URLS`: each URL resolved as DATABASE_URL would be (the variables apply to
 * all), with its password in the URL itself (DATABASE_PASSWORD_FILE is the primary's).
 */
function resolveReplicas(
  env: DatabaseEnv,
  problems: ConfigProblem[],
  pgHost: string | undefined,
): DatabaseConfig[] {
  const list = env.DATABASE_REPLICA_URLS?.split(",")
    .map((url) => url.trim())
    .filter((url) => url !== "");
  if (!list?.length) return [];
  const variable = "DATABASE_REPLICA_URLS";
  if (!env.DATABASE_URL) {
    problems.push({ variable, message: "needs DATABASE_URL (the embedded database has none)" });
    return [];
  }
  const replicas: DatabaseConfig[] = [];
  for (const url of list) {
    const parsed = DATABASE_VARIABLES.DATABASE_URL.safeParse(url);
    if (!parsed.success || !parsed.data) {
      problems.push({ variable, message: "each entry must be a postgres:// or postgresql:// URL" });
      continue;
    }
    const own: ConfigProblem[] = [];
    const overrides = {
      DATABASE_URL: parsed.data,
      DATABASE_PASSWORD_FILE: undefined,
      DATABASE_REPLICA_URLS: undefined,
    };
    replicas.push(resolveDatabase({ ...env, ...overrides }, own, pgHost));
    addRenamed(problems, own, variable);
  }
  return replicas;
}

export function resolveDatabase(
  env: DatabaseEnv,
  problems: ConfigProblem[],
  /** postgres.js's fallback for a URL without a host. */
  pgHost: string | undefined,
): DatabaseConfig {
  let url: string | undefined;
  const query = new Map<string, string>();
  if (env.DATABASE_URL) {
    const { url: parsed, hosts } = parseDatabaseUrl(env.DATABASE_URL);
    const sessionAttrs = targetSessionAttrs(parsed.searchParams.get("target_session_attrs"));
    if (sessionAttrs === null) {
      problems.push({
        variable: "DATABASE_URL",
        message: `URL query target_session_attrs must be one of ${TARGET_SESSION_ATTRS.join(", ")}`,
      });
    } else if (sessionAttrs === undefined) parsed.searchParams.delete("target_session_attrs");
    else parsed.searchParams.set("target_session_attrs", sessionAttrs);
    for (const name of RESOLVED_QUERY_PARAMS) {
      const value = parsed.searchParams.get(name);
      if (value !== null) query.set(name, value);
      parsed.searchParams.delete(name);
    }
    const passwordProblem =
      env.DATABASE_PASSWORD_FILE && applyPasswordFile(parsed, env.DATABASE_PASSWORD_FILE);
    if (passwordProblem) {
      problems.push({ variable: "DATABASE_PASSWORD_FILE", message: passwordProblem });
    }
    url = formatDatabaseUrl({ url: parsed, hosts });
  } else if (env.DATABASE_PASSWORD_FILE) {
    problems.push({
      variable: "DATABASE_PASSWORD_FILE",
      message: "needs DATABASE_URL (the embedded database has no password)",
    });
  }

  const queryInt = (name: string, variable: string): number | undefined => {
    const raw = query.get(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) {
      problems.push({ variable, message: `URL query ${name} must be a non-negative integer` });
      return undefined;
    }
    return value;
  };

  let ssl: SslMode = env.DATABASE_SSL ?? "disable";
  if (!env.DATABASE_SSL && query.has("sslmode")) {
    const mode = SSLMODE_FROM_URL[query.get("sslmode") ?? ""];
    if (mode) ssl = mode;
    else
      problems.push({ variable: "DATABASE_URL", message: "URL query sslmode is not a libpq mode" });
  }

  let sslCa: string | undefined;
  const caPath = env.DATABASE_SSL_CA ?? query.get("sslrootcert");
  if (caPath) {
    try {
      sslCa = readFileSync(caPath, "utf8");
    } catch {
      problems.push({
        variable: env.DATABASE_SSL_CA ? "DATABASE_SSL_CA" : "DATABASE_URL",
        message: "CA file cannot be read",
      });
    }
  }
  // verify-full without a CA verifies against Node's bundled public roots, which is what
  // managed databases with publicly signed certificates need.

  if (
    env.NODE_ENV === "production" &&
    url &&
    ssl === "disable" &&
    !env.DATABASE_SSL_ALLOW_PLAINTEXT &&
    !isLocalServer(url, pgHost)
  ) {
    problems.push({
      variable: "DATABASE_SSL",
      message:
        "the server is not on this machine and TLS is off (sslmode disable, allow or prefer), " +
        "so the password and the data cross the network readable: set DATABASE_SSL=verify-full " +
        "(or require), or DATABASE_SSL_ALLOW_PLAINTEXT=true on a network you trust",
    });
  }

  if (env.DATABASE_URL && env.DATABASE_POOLER === "pgbouncer-transaction" && env.DATABASE_PREPARE) {
    problems.push({
      variable: "DATABASE_PREPARE",
      message:
        "must be false with DATABASE_POOLER=pgbouncer-transaction: a named prepared statement " +
        "lives on one server connection, and PgBouncer hands the next transaction another",
    });
  }

  return {
    driver: env.DATABASE_URL ? "postgres" : "pglite",
    url,
    pgliteDataDir: env.PGLITE_DATA_DIR,
    pooler: env.DATABASE_URL ? env.DATABASE_POOLER : "none",
    poolMax: env.DATABASE_POOL_MAX,
    pipeline: env.DATABASE_PIPELINE,
    connectTimeoutSeconds:
      env.DATABASE_CONNECT_TIMEOUT ?? queryInt("connect_timeout", "DATABASE_URL") ?? 10,
    idleTimeoutSeconds: env.DATABASE_IDLE_TIMEOUT,
    maxLifetimeSeconds: env.DATABASE_MAX_LIFETIME,
    statementTimeoutMs:
      env.DATABASE_STATEMENT_TIMEOUT ?? queryInt("statement_timeout", "DATABASE_URL") ?? 30_000,
    poolTimeoutMs: env.DATABASE_POOL_TIMEOUT,
    applicationName:
      env.DATABASE_APPLICATION_NAME ?? query.get("application_name") ?? "pg-drizzle-template",
    ssl,
    sslCa,
    prepare: env.DATABASE_PREPARE,
    slowQueryMs: env.DATABASE_SLOW_QUERY_MS,
    logParams: env.DATABASE_LOG_PARAMS,
    logQueries: env.DATABASE_LOG_QUERIES,
    replicas: resolveReplicas(env, problems, pgHost),
    replicaMaxLagMs: env.DATABASE_REPLICA_MAX_LAG_MS,
    replicaCheckMs: env.DATABASE_REPLICA_CHECK_MS,
  };
}
