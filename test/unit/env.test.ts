import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, redactUrl } from "../../src/env.js";

const problemsOf = (source: Record<string, string>) => {
  try {
    parseConfig(source);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
};

describe("parseConfig", () => {
  it("defaults to the embedded database and development settings", () => {
    const config = parseConfig({});
    expect(config.database.driver).toBe("pglite");
    expect(config.database.pgliteDataDir).toBe(".data/pglite");
    expect(config).toMatchObject({ nodeEnv: "development", port: 3000, logLevel: "info" });
    expect(config.database).toMatchObject({ poolMax: 10, ssl: "disable", prepare: true });
  });

  it("uses postgres.js for a postgres URL and reads settings from its query", () => {
    const config = parseConfig({
      DATABASE_URL:
        "postgres://app:s3cret@db:5432/app?sslmode=require&application_name=svc&connect_timeout=7&statement_timeout=1500",
    });
    expect(config.database).toMatchObject({
      driver: "postgres",
      ssl: "require",
      applicationName: "svc",
      connectTimeoutSeconds: 7,
      statementTimeoutMs: 1500,
      url: "postgres://app:s3cret@db:5432/app",
    });
  });

  it("lets explicit variables win over the URL query", () => {
    const config = parseConfig({
      DATABASE_URL:
        "postgresql://db/app?sslmode=require&application_name=fromurl&connect_timeout=7",
      DATABASE_SSL: "disable",
      DATABASE_APPLICATION_NAME: "fromvar",
      DATABASE_CONNECT_TIMEOUT: "3",
    });
    expect(config.database).toMatchObject({
      ssl: "disable",
      applicationName: "fromvar",
      connectTimeoutSeconds: 3,
    });
  });

  it("names every bad variable at once, without printing values", () => {
    const error = problemsOf({
      DATABASE_URL: "mysql://root:hunter2@db/app",
      PORT: "eighty",
      DATABASE_POOL_MAX: "0",
      DATABASE_SSL: "maybe",
      LOG_LEVEL: "loud",
    });
    const variables = error.problems.map((p) => p.variable).sort();
    expect(variables).toEqual([
      "DATABASE_POOL_MAX",
      "DATABASE_SSL",
      "DATABASE_URL",
      "LOG_LEVEL",
      "PORT",
    ]);
    expect(error.message).not.toContain("hunter2");
    expect(error.message).not.toContain("eighty");
  });

  it("reports an unreadable CA file as a configuration error", () => {
    const error = problemsOf({
      DATABASE_URL: "postgres://db/app",
      DATABASE_SSL: "verify-full",
      DATABASE_SSL_CA: "/nonexistent/ca.pem",
    });
    expect(error.problems).toEqual([
      { variable: "DATABASE_SSL_CA", message: "CA file cannot be read" },
    ]);
  });

  it("treats empty strings as unset", () => {
    expect(parseConfig({ PORT: "", DATABASE_URL: "" }).port).toBe(3000);
  });

  it("maps libpq sslmodes and rejects unknown ones", () => {
    expect(parseConfig({ DATABASE_URL: "postgres://db/a?sslmode=verify-ca" }).database.ssl).toBe(
      "verify-full",
    );
    expect(parseConfig({ DATABASE_URL: "postgres://db/a?sslmode=prefer" }).database.ssl).toBe(
      "disable",
    );
    expect(
      problemsOf({ DATABASE_URL: "postgres://u:pw@db/a?sslmode=sometimes" }).problems[0]?.variable,
    ).toBe("DATABASE_URL");
  });
});

describe("parseConfig: observability", () => {
  it("serves open metrics with database statistics and no tracing by default", () => {
    const config = parseConfig({});
    expect(config.metrics).toEqual({ enabled: true, token: undefined, databaseStats: true });
    expect(config.tracing).toEqual({ enabled: false, sampleRatio: 1 });
  });

  it("reads the metrics token, the switches and the sample ratio", () => {
    const config = parseConfig({
      METRICS_ENABLED: "false",
      METRICS_TOKEN: "scrape-token-0123456789",
      METRICS_DB_STATS: "0",
      TRACING_ENABLED: "true",
      TRACING_SAMPLE_RATIO: "0.25",
    });
    expect(config.metrics).toEqual({
      enabled: false,
      token: "scrape-token-0123456789",
      databaseStats: false,
    });
    expect(config.tracing).toEqual({ enabled: true, sampleRatio: 0.25 });
  });

  it("rejects a short or spaced token and a ratio outside 0..1, without printing them", () => {
    const short = problemsOf({ METRICS_TOKEN: "tiny-secret", TRACING_SAMPLE_RATIO: "1.5" });
    expect(short.problems.map((p) => p.variable).sort()).toEqual([
      "METRICS_TOKEN",
      "TRACING_SAMPLE_RATIO",
    ]);
    expect(short.message).not.toContain("tiny-secret");
    const spaced = problemsOf({ METRICS_TOKEN: "a token with spaces in it" });
    expect(spaced.problems).toEqual([
      {
        variable: "METRICS_TOKEN",
        message: "may hold only letters, digits and - . _ ~ + / (then = padding)",
      },
    ]);
  });
});

describe("redactUrl", () => {
  it("hides the password", () => {
    expect(redactUrl("postgres://app:s3cret@db/app")).toBe("postgres://app:***@db/app");
    expect(redactUrl(undefined)).toContain("PGlite");
  });
});
