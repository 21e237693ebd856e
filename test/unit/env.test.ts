import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isLocalServer } from "../../src/db/connection-url.js";
import { ConfigError, parseConfig, parseServerConfig, redactUrl } from "../../src/env.js";

const problemsOf = (source: Record<string, string>, parse = parseConfig) => {
  try {
    parse(source);
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

describe("parseConfig: security", () => {
  const TOKEN_1 = "0123456789abcdef0123456789abcdef";
  const TOKEN_2 = "ZmFrZS10b2tlbi1mb3ItdGVzdHMtMTIzNDU2Nzg=";

  it("leaves writes open, limits each client and sends no CORS headers by default", () => {
    expect(parseConfig({}).security).toEqual({
      apiTokens: [],
      apiAuth: "on",
      rateLimit: { requestsPerSecond: 100, burst: 200, maxClients: 10_000 },
      trustProxy: 0,
      corsOrigins: [],
    });
  });

  it("reads comma-separated tokens and origins, trimming around the commas", () => {
    const { security } = parseConfig({
      API_TOKENS: `${TOKEN_1}, ${TOKEN_2}`,
      CORS_ORIGINS: "https://app.example.com,http://localhost:5173",
      RATE_LIMIT_RPS: "0.5",
      RATE_LIMIT_BURST: "3",
      RATE_LIMIT_MAX_CLIENTS: "500",
      TRUST_PROXY: "1",
    });
    expect(security).toEqual({
      apiTokens: [TOKEN_1, TOKEN_2],
      apiAuth: "on",
      rateLimit: { requestsPerSecond: 0.5, burst: 3, maxClients: 500 },
      trustProxy: 1,
      corsOrigins: ["https://app.example.com", "http://localhost:5173"],
    });
  });

  it("turns the rate limit off with RATE_LIMIT=off", () => {
    expect(parseConfig({ RATE_LIMIT: "off" }).security.rateLimit).toBeUndefined();
  });

  it.each([
    ["a short token", `${TOKEN_1},short-secret-value`, "API_TOKENS.1"],
    ["whitespace inside a token", `${TOKEN_1.slice(0, 16)} ${TOKEN_1.slice(16)}x`, "API_TOKENS.0"],
    ["an empty entry", `${TOKEN_1},,${TOKEN_2}`, "API_TOKENS.1"],
    ["a trailing comma", `${TOKEN_1},`, "API_TOKENS.1"],
    ["a character a header can't carry", `${TOKEN_1}"`, "API_TOKENS.0"],
  ])("rejects %s, naming its position but not its value", (_case, value, variable) => {
    const error = problemsOf({ API_TOKENS: value });
    expect(error.problems.map((p) => p.variable)).toEqual([variable]);
    expect(error.message).not.toContain(TOKEN_1.slice(0, 16));
    expect(error.message).not.toContain("short-secret");
  });

  it.each([
    ["CORS_ORIGINS", "https://app.example.com/"],
    ["CORS_ORIGINS", "app.example.com"],
    ["CORS_ORIGINS", "https://a.example.com,,https://b.example.com"],
    ["RATE_LIMIT", "maybe"],
    ["RATE_LIMIT_RPS", "0"],
    ["RATE_LIMIT_BURST", "0"],
    ["RATE_LIMIT_MAX_CLIENTS", "10"],
    ["TRUST_PROXY", "-1"],
    ["API_AUTH", "no"],
  ])("rejects %s=%s", (variable, value) => {
    expect(problemsOf({ [variable]: value }).problems.map((p) => p.variable)[0]).toMatch(
      new RegExp(`^${variable}(\\.\\d+)?$`),
    );
  });

  it("accepts * as the CORS origin", () => {
    expect(parseConfig({ CORS_ORIGINS: "*" }).security.corsOrigins).toEqual(["*"]);
  });
});

describe("parseServerConfig", () => {
  const TOKEN = "0123456789abcdef0123456789abcdef";

  it("refuses a production server without API_TOKENS, saying how to proceed", () => {
    const error = problemsOf({ NODE_ENV: "production" }, parseServerConfig);
    expect(error.problems.map((p) => p.variable)).toEqual(["API_TOKENS"]);
    expect(error.message).toContain("API_AUTH=off");
  });

  it("starts a production server with tokens, or with API_AUTH=off and open writes", () => {
    expect(
      parseServerConfig({ NODE_ENV: "production", API_TOKENS: TOKEN }).security.apiTokens,
    ).toEqual([TOKEN]);
    const open = parseServerConfig({ NODE_ENV: "production", API_AUTH: "off" });
    expect(open.security).toMatchObject({ apiTokens: [], apiAuth: "off" });
  });

  it("leaves writes open in development and test", () => {
    expect(parseServerConfig({}).security.apiTokens).toEqual([]);
    expect(parseServerConfig({ NODE_ENV: "test" }).security.apiTokens).toEqual([]);
  });

  it("refuses API_AUTH=off together with tokens", () => {
    const error = problemsOf({ API_AUTH: "off", API_TOKENS: TOKEN }, parseServerConfig);
    expect(error.problems.map((p) => p.variable)).toEqual(["API_AUTH"]);
  });

  it("lets the command-line tools run in production without tokens", () => {
    expect(parseConfig({ NODE_ENV: "production" }).nodeEnv).toBe("production");
  });
});

describe("parseConfig: production refuses plaintext to a remote server", () => {
  const production = (env: Record<string, string>) => ({ NODE_ENV: "production", ...env });

  it.each([
    ["the default mode", "postgres://app:s3cret@db.internal/app", {}],
    ["sslmode=prefer in the URL", "postgres://app:s3cret@10.0.0.5/app?sslmode=prefer", {}],
    [
      "DATABASE_SSL=disable set on purpose",
      "postgres://app:s3cret@db.internal/app",
      { DATABASE_SSL: "disable" },
    ],
    ["one remote host of several", "postgres://app:s3cret@localhost,db.internal/app", {}],
    ["no host in the URL and a remote PGHOST", "postgres:///app", { PGHOST: "db.internal" }],
  ])("refuses %s, saying how to proceed, without the password", (_case, url, env) => {
    const error = problemsOf(production({ DATABASE_URL: url, ...env }));
    expect(error.problems.map((p) => p.variable)).toEqual(["DATABASE_SSL"]);
    expect(error.message).toContain("DATABASE_SSL=verify-full");
    expect(error.message).toContain("DATABASE_SSL_ALLOW_PLAINTEXT=true");
    expect(error.message).not.toContain("s3cret");
  });

  it("starts with TLS, or with the explicit opt-out", () => {
    const remote = "postgres://app:s3cret@db.internal/app";
    const ways: Record<string, string>[] = [
      { DATABASE_SSL: "verify-full" },
      { DATABASE_SSL: "require" },
      { DATABASE_URL: `${remote}?sslmode=verify-full` },
      { DATABASE_SSL_ALLOW_PLAINTEXT: "true" },
    ];
    for (const env of ways) {
      expect(parseConfig(production({ DATABASE_URL: remote, ...env })).database.url).toBe(remote);
    }
  });

  it("allows plaintext outside production and to this machine", () => {
    expect(parseConfig({ DATABASE_URL: "postgres://db.internal/app" }).database.ssl).toBe(
      "disable",
    );
    for (const url of [
      "postgres://app:pw@localhost:5432/app",
      "postgres://app:pw@127.0.0.1/app",
      "postgres://app:pw@127.10.0.1/app",
      "postgres://app:pw@[::1]:5432/app",
      "postgres://app@%2Fvar%2Frun%2Fpostgresql/app",
      "postgres:///app",
    ]) {
      expect(parseConfig(production({ DATABASE_URL: url })).database.driver, url).toBe("postgres");
    }
  });

  it("knows which hosts are this machine", () => {
    expect(isLocalServer("postgres:///app", "/var/run/postgresql")).toBe(true);
    expect(isLocalServer("postgres://localhost,127.0.0.2/app")).toBe(true);
    for (const host of ["localhost.example.com", "127.example.com", "10.0.0.1", "[::2]", "db"]) {
      expect(isLocalServer(`postgres://${host}/app`), host).toBe(false);
    }
  });
});

describe("parseConfig: DATABASE_PASSWORD_FILE", () => {
  const folder = mkdtempSync(join(tmpdir(), "env-test-"));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  let files = 0;
  const secretFile = (content: string) => {
    const path = join(folder, `password-${++files}`);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const PASSWORD = "p@ss:w/rd%41 #?&ü";

  it("puts the file's content, without its line break, into the URL as the password", () => {
    for (const ending of ["", "\n", "\r\n", "\n\n"]) {
      const { url } = parseConfig({
        DATABASE_URL: "postgres://app@db:5432/app?sslmode=require",
        DATABASE_PASSWORD_FILE: secretFile(`${PASSWORD}${ending}`),
      }).database;
      const parsed = new URL(url ?? "");
      expect(decodeURIComponent(parsed.password), JSON.stringify(ending)).toBe(PASSWORD);
      expect(parsed.username).toBe("app");
      expect(redactUrl(url)).toBe("postgres://app:***@db:5432/app");
    }
  });

  it.each([
    [
      "a URL with its own password",
      "postgres://app:other@db/app",
      () => secretFile(PASSWORD),
      "DATABASE_URL has a password too",
    ],
    [
      "a missing file",
      "postgres://app@db/app",
      () => join(folder, "missing"),
      "file cannot be read",
    ],
    ["a folder", "postgres://app@db/app", () => folder, "file cannot be read"],
    ["an empty file", "postgres://app@db/app", () => secretFile("\n"), "file is empty"],
    [
      "two lines",
      "postgres://app@db/app",
      () => secretFile(`${PASSWORD}\nsecond\n`),
      "more than one line",
    ],
    ["no DATABASE_URL", "", () => secretFile(PASSWORD), "needs DATABASE_URL"],
  ])("refuses %s, without printing the file's content", (_case, url, file, message) => {
    const error = problemsOf({ DATABASE_URL: url, DATABASE_PASSWORD_FILE: file() });
    expect(error.problems).toEqual([
      { variable: "DATABASE_PASSWORD_FILE", message: expect.stringContaining(message) },
    ]);
    expect(error.message).not.toContain("p@ss");
    expect(error.message).not.toContain("other");
  });
});

describe("redactUrl", () => {
  it("hides the password", () => {
    expect(redactUrl("postgres://app:s3cret@db/app")).toBe("postgres://app:***@db/app");
    expect(redactUrl(undefined)).toContain("PGlite");
  });
});
