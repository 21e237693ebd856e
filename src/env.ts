/**
 * Configuration: the only module that reads `process.env` (Biome's `noProcessEnv` enforces it).
 *
 * `parseConfig(source)` is pure — tests feed it plain objects — and throws one `ConfigError`
 * naming every bad variable. `loadConfig()` is the process entry points' wrapper around it.
 *
 * Precedence for connection settings, highest first:
 *   1. an explicit variable (`DATABASE_SSL`, `DATABASE_APPLICATION_NAME`, ...),
 *   2. the same setting in the `DATABASE_URL` query (`sslmode`, `application_name`,
 *      `connect_timeout`, `statement_timeout`, ...),
 *   3. the default below.
 */
import { readFileSync } from "node:fs";
import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";
import { applyPasswordFile, isLocalServer } from "./db/connection-url.js";
import {
  resolveSecurity,
  SECURITY_VARIABLES,
  type SecurityConfig,
  serverSecurityProblems,
} from "./security/config.js";

export type { SecurityConfig } from "./security/config.js";

export const NODE_ENVS = ["development", "test", "production"] as const;
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export const SSL_MODES = ["disable", "require", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Thrown by `parseConfig`; its message names every invalid variable and never a value. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  - ${p.variable}: ${p.message}`).join("\n")}`,
    );
  }
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
/**
 * Every variable with its rule. Defaults that depend on the URL query are applied later
 * (`resolveDatabase`), so those variables stay optional here.
 */
const serverSchema = {
  NODE_ENV: z.enum(NODE_ENVS).default("development"),
  PORT: int(0, 65535).default(3000),
  /** Unset: listen on every interface (IPv4 and IPv6). */
  HOST: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
  /** Request ids on the query log's lines too; `auto` weighs the cost, see ADR 0005. */
  LOG_REQUEST_CONTEXT: z.enum(["auto", "on", "off"]).default("auto"),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),

  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// or postgresql:// URL" })
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
  /** Queries slower than this (ms) are logged at warn. */
  DATABASE_SLOW_QUERY_MS: int(0, 86_400_000).default(500),
  /** Log bound parameters with queries. Development only: they may hold personal data. */
  DATABASE_LOG_PARAMS: bool.default(false),
  /** Log every query at debug level (duration, rows). */
  DATABASE_LOG_QUERIES: bool.default(false),

  /** Serve Prometheus metrics on `GET /metrics` (same port as the API). */
  METRICS_ENABLED: bool.default(true),
  /** When set, `GET /metrics` requires `Authorization: Bearer <token>`. */
  METRICS_TOKEN: z
    .string()
    .min(16, "must be at least 16 characters")
    .regex(/^[\w\-.~+/]+=*$/, "may hold only letters, digits and - . _ ~ + / (then = padding)")
    .optional(),
  /** Read pg_stat_activity / pg_stat_database at scrape time (own connection, short timeout). */
  METRICS_DB_STATS: bool.default(true),
  /** OpenTelemetry spans for requests, queries and transactions (docs/observability.md). */
  TRACING_ENABLED: bool.default(false),
  /** Share of new traces recorded (0..1); a request continuing a trace follows its parent. */
  TRACING_SAMPLE_RATIO: z.coerce.number().min(0).max(1).default(1),

  /** API_TOKENS, RATE_LIMIT, CORS_ORIGINS, ...: docs/security.md. */
  ...SECURITY_VARIABLES,
};

export interface DatabaseConfig {
  /** `postgres` for a server URL, `pglite` for the embedded default. */
  driver: "postgres" | "pglite";
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
}

export interface Config {
  nodeEnv: (typeof NODE_ENVS)[number];
  port: number;
  host: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  logRequestContext: "auto" | "on" | "off";
  shutdownTimeoutMs: number;
  database: DatabaseConfig;
  metrics: MetricsConfig;
  tracing: TracingConfig;
  security: SecurityConfig;
}

export interface MetricsConfig {
  enabled: boolean;
  /** Bearer token `GET /metrics` requires; undefined: open. */
  token: string | undefined;
  /** Server-side statistics (pg_stat_activity, ...) at scrape time; never on PGlite. */
  databaseStats: boolean;
}

export interface TracingConfig {
  enabled: boolean;
  sampleRatio: number;
}

type Problem = { variable: string; message: string };
type Source = Record<string, string | undefined>;

/** Validates `source` (normally `process.env`) and resolves it into a `Config`. Pure. */
export function parseConfig(source: Source): Config {
  const env = validate(source);
  const problems: Problem[] = [];
  const database = resolveDatabase(env, problems, source.PGHOST || undefined);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    nodeEnv: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === "test" ? "warn" : "info"),
    logRequestContext: env.LOG_REQUEST_CONTEXT,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    database,
    metrics: {
      enabled: env.METRICS_ENABLED,
      token: env.METRICS_TOKEN,
      databaseStats: env.METRICS_DB_STATS,
    },
    tracing: { enabled: env.TRACING_ENABLED, sampleRatio: env.TRACING_SAMPLE_RATIO },
    security: resolveSecurity(env),
  };
}

/**
 * `parseConfig` plus the rules for serving HTTP, which the command-line tools (migrations,
 * seeding) don't need: a production server has write tokens, unless `API_AUTH=off` says that
 * open writes are intended. Pure, like `parseConfig`.
 */
export function parseServerConfig(source: Source): Config {
  const config = parseConfig(source);
  const problems = serverSecurityProblems(config.nodeEnv, config.security);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function validate(source: Source) {
  return createEnv({
    server: serverSchema,
    runtimeEnv: source,
    // `PORT=` in a .env file means "unset", not "invalid number".
    emptyStringAsUndefined: true,
    isServer: true,
    onValidationError: (issues) => {
      // Messages come from the schema, never from the value, so a bad DATABASE_URL
      // (password included) is named but not printed.
      throw new ConfigError(
        issues.map((issue) => ({
          variable: issue.path?.map((p) => (typeof p === "object" ? p.key : p)).join(".") ?? "?",
          message: issue.message,
        })),
      );
    },
  });
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

function resolveDatabase(
  env: ReturnType<typeof validate>,
  problems: Problem[],
  /** postgres.js's fallback for a URL without a host. */
  pgHost: string | undefined,
): DatabaseConfig {
  let url: string | undefined;
  const query = new Map<string, string>();
  if (env.DATABASE_URL) {
    const parsed = new URL(env.DATABASE_URL);
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
    url = parsed.toString();
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

  return {
    driver: env.DATABASE_URL ? "postgres" : "pglite",
    url,
    pgliteDataDir: env.PGLITE_DATA_DIR,
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
  };
}

/**
 * Reads `process.env` once. On invalid configuration prints the one message and exits 1,
 * before anything has opened a connection.
 */
export function loadConfig(source: Source = process.env, parse = parseConfig): Config {
  try {
    return parse(source);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** `loadConfig` with the HTTP server's rules (`parseServerConfig`). */
export const loadServerConfig = (source: Source = process.env) =>
  loadConfig(source, parseServerConfig);

/** Test-only settings, read here so that no other module touches `process.env`. */
export function testEnv(source: Source = process.env) {
  return {
    testDatabaseUrl: source.TEST_DATABASE_URL || undefined,
    ci: source.CI === "true" || source.CI === "1",
    /** Handed to child processes the tests start (the server, the migration CLI). */
    path: source.PATH ?? "",
  };
}

/**
 * `db:doctor` settings, read here so that no other module touches `process.env`.
 * `APP_INSTANCES`: app processes sharing the database, for the connection budget (the doctor
 * validates it; `--instances` overrides it).
 */
export function doctorEnv(source: Source = process.env) {
  return { instances: source.APP_INSTANCES || undefined };
}

/** Password-free form of a connection URL, for logs and messages. */
export function redactUrl(url: string | undefined): string {
  if (!url) return "(embedded PGlite)";
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}
