/**
 * Configuration: the only module that reads `process.env` (Biome's `noProcessEnv` enforces it).
 *
 * `parseConfig(source)` is pure — tests feed it plain objects — and throws one `ConfigError`
 * naming every bad variable. `loadConfig()` is the process entry points' wrapper around it.
 *
 * The database's variables and how they resolve (URL query, password file, TLS) live in
 * src/db/config.ts, the security ones in src/security/config.ts, the cache's in
 * src/cache/config.ts; this module validates them all at once.
 */
import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";
import { CACHE_VARIABLES, type CacheConfig, resolveCache } from "./cache/config.js";
import {
  type ConfigProblem,
  DATABASE_VARIABLES,
  type DatabaseConfig,
  resolveDatabase,
  resolveMigrationDatabase,
} from "./db/config.js";
import { formatDatabaseUrl, parseDatabaseUrl } from "./db/connection-url.js";
import {
  resolveSecurity,
  SECURITY_VARIABLES,
  type SecurityConfig,
  serverSecurityProblems,
} from "./security/config.js";

export type { SecurityConfig } from "./security/config.js";

export const NODE_ENVS = ["development", "test", "production"] as const;
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export { type DatabaseConfig, SSL_MODES, type SslMode } from "./db/config.js";

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
  /** Server processes sharing the database: the connection budget checked at start (and by db:doctor). */
  APP_INSTANCES: int(1, 10_000).default(1),

  /** DATABASE_*, PGLITE_DATA_DIR, MIGRATION_DATABASE_URL: src/db/config.ts. */
  ...DATABASE_VARIABLES,

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
  /** CACHE_REDIS_URL, CACHE_TTL_SECONDS, ...: the result cache (docs/performance.md). */
  ...CACHE_VARIABLES,
};

export interface Config {
  nodeEnv: (typeof NODE_ENVS)[number];
  port: number;
  host: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  logRequestContext: "auto" | "on" | "off";
  shutdownTimeoutMs: number;
  /** `APP_INSTANCES`. */
  appInstances: number;
  database: DatabaseConfig;
  /** Where migrations run: `MIGRATION_DATABASE_URL`'s login, or `database` when unset. */
  migrationDatabase: DatabaseConfig;
  /** `DATABASE_ROLE_PREFIX`. */
  rolePrefix: string;
  metrics: MetricsConfig;
  tracing: TracingConfig;
  security: SecurityConfig;
  cache: CacheConfig;
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

type Problem = ConfigProblem;
type Source = Record<string, string | undefined>;

/** Validates `source` (normally `process.env`) and resolves it into a `Config`. Pure. */
export function parseConfig(source: Source): Config {
  const env = validate(source);
  const problems: Problem[] = [];
  const database = resolveDatabase(env, problems, source.PGHOST || undefined);
  const migrationDatabase = resolveMigrationDatabase(env, database, problems, source.PGHOST);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    nodeEnv: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === "test" ? "warn" : "info"),
    logRequestContext: env.LOG_REQUEST_CONTEXT,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    appInstances: env.APP_INSTANCES,
    database,
    migrationDatabase,
    rolePrefix: env.DATABASE_ROLE_PREFIX,
    metrics: {
      enabled: env.METRICS_ENABLED,
      token: env.METRICS_TOKEN,
      databaseStats: env.METRICS_DB_STATS,
    },
    tracing: { enabled: env.TRACING_ENABLED, sampleRatio: env.TRACING_SAMPLE_RATIO },
    security: resolveSecurity(env),
    cache: resolveCache(env),
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
    /** The Redis the result cache's tests use; they skip, saying so, when none answers. */
    testRedisUrl: source.TEST_REDIS_URL || "redis://127.0.0.1:6379",
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
    const parsed = parseDatabaseUrl(url);
    if (parsed.url.password) parsed.url.password = "***";
    return formatDatabaseUrl(parsed);
  } catch {
    return "(unparseable URL)";
  }
}
