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
/** Comma-separated values, each trimmed and checked by `item`; an empty entry is an error. */
const list = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .string()
    .transform((value) => value.split(",").map((entry) => entry.trim()))
    .pipe(z.array(item));
/** RFC 6750's `b64token`: what an `Authorization: Bearer` header can carry. */
const BEARER_TOKEN = /^[\w\-.~+/]+=*$/;
const BEARER_TOKEN_CHARACTERS =
  "may hold only letters, digits and - . _ ~ + / (then = padding); no whitespace";
/** `https://app.example.com[:port]`: a scheme and a host, nothing after. */
const isOrigin = (value: string) => {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
};

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

  /** Bearer tokens that POST, PUT, PATCH and DELETE require (docs/security.md). */
  API_TOKENS: list(
    z
      .string()
      .min(32, "each token must be at least 32 characters (e.g. openssl rand -hex 32)")
      .max(512, "each token must be at most 512 characters")
      .regex(BEARER_TOKEN, `each token ${BEARER_TOKEN_CHARACTERS}`),
  ).optional(),
  /** `off`: run without API_TOKENS in production, writes open, on purpose. */
  API_AUTH: z.enum(["on", "off"]).default("on"),
  /** Per-client token bucket; `off` for benchmarks and load tests. */
  RATE_LIMIT: z.enum(["on", "off"]).default("on"),
  /** Sustained requests per second per client (the bucket's refill rate). */
  RATE_LIMIT_RPS: z.coerce.number().positive().max(1_000_000).default(100),
  /** Requests a client may send at once after being idle (the bucket's size). */
  RATE_LIMIT_BURST: int(1, 1_000_000).default(200),
  /** Clients whose buckets are kept at most (bounded memory; the idle and oldest go first). */
  RATE_LIMIT_MAX_CLIENTS: int(100, 10_000_000).default(10_000),
  /** Proxies in front of the app that append to X-Forwarded-For; 0: use the peer address. */
  TRUST_PROXY: int(0, 10).default(0),
  /** Origins browsers may call the API from, comma-separated, or `*`; unset: no CORS headers. */
  CORS_ORIGINS: list(
    z
      .string()
      .refine(
        (origin) => origin === "*" || isOrigin(origin),
        "each entry must be * or an origin such as https://app.example.com (no path, no slash)",
      ),
  ).optional(),
};

export interface DatabaseConfig {
  /** `postgres` for a server URL, `pglite` for the embedded default. */
  driver: "postgres" | "pglite";
  /** Connection URL without the query settings that were resolved into fields below. */
  url: string | undefined;
  pgliteDataDir: string;
  poolMax: number;
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

/** Access control and abuse resistance of the HTTP API (docs/security.md). */
export interface SecurityConfig {
  /** Tokens writes require; empty: writes are open (`API_AUTH=off`, or not in production). */
  apiTokens: readonly string[];
  /** `API_AUTH`: `off` lets a production server start without tokens. */
  apiAuth: "on" | "off";
  /** Per-client token bucket; undefined: `RATE_LIMIT=off`. */
  rateLimit: { requestsPerSecond: number; burst: number; maxClients: number } | undefined;
  /** Proxies in front that append to `X-Forwarded-For`; 0: the peer address is the client. */
  trustProxy: number;
  /** Origins allowed to call from a browser (`*` for any); empty: no CORS headers. */
  corsOrigins: readonly string[];
}

type Problem = { variable: string; message: string };
type Source = Record<string, string | undefined>;

/** Validates `source` (normally `process.env`) and resolves it into a `Config`. Pure. */
export function parseConfig(source: Source): Config {
  const env = validate(source);
  const problems: Problem[] = [];
  const database = resolveDatabase(env, problems);
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
    security: {
      apiTokens: env.API_TOKENS ?? [],
      apiAuth: env.API_AUTH,
      rateLimit:
        env.RATE_LIMIT === "on"
          ? {
              requestsPerSecond: env.RATE_LIMIT_RPS,
              burst: env.RATE_LIMIT_BURST,
              maxClients: env.RATE_LIMIT_MAX_CLIENTS,
            }
          : undefined,
      trustProxy: env.TRUST_PROXY,
      corsOrigins: env.CORS_ORIGINS ?? [],
    },
  };
}

/**
 * `parseConfig` plus the rules for serving HTTP, which the command-line tools (migrations,
 * seeding) don't need: a production server has write tokens, unless `API_AUTH=off` says that
 * open writes are intended. Pure, like `parseConfig`.
 */
export function parseServerConfig(source: Source): Config {
  const config = parseConfig(source);
  const { apiTokens, apiAuth } = config.security;
  if (apiAuth === "off" && apiTokens.length > 0) {
    throw new ConfigError([
      { variable: "API_AUTH", message: "off contradicts API_TOKENS: unset one of them" },
    ]);
  }
  if (config.nodeEnv === "production" && apiAuth === "on" && apiTokens.length === 0) {
    throw new ConfigError([
      {
        variable: "API_TOKENS",
        message:
          "required with NODE_ENV=production, or POST/PUT/PATCH/DELETE are open to anyone; " +
          "set API_AUTH=off to serve open writes on purpose",
      },
    ]);
  }
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

function resolveDatabase(env: ReturnType<typeof validate>, problems: Problem[]): DatabaseConfig {
  let url: string | undefined;
  const query = new Map<string, string>();
  if (env.DATABASE_URL) {
    const parsed = new URL(env.DATABASE_URL);
    for (const name of RESOLVED_QUERY_PARAMS) {
      const value = parsed.searchParams.get(name);
      if (value !== null) query.set(name, value);
      parsed.searchParams.delete(name);
    }
    url = parsed.toString();
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

  return {
    driver: env.DATABASE_URL ? "postgres" : "pglite",
    url,
    pgliteDataDir: env.PGLITE_DATA_DIR,
    poolMax: env.DATABASE_POOL_MAX,
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
