import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/env.js";
import { createLogger, propagatesRequestContext } from "../../src/logger.js";

const config = (env: Record<string, string>) =>
  parseConfig({ PGLITE_DATA_DIR: "memory://", ...env });

describe("propagatesRequestContext", () => {
  it("auto: off only in production on Node < 24, unless every query is logged", () => {
    const production = config({ NODE_ENV: "production" });
    expect(propagatesRequestContext(production, 20)).toBe(false);
    expect(propagatesRequestContext(production, 22)).toBe(false);
    expect(propagatesRequestContext(production, 24)).toBe(true);
    expect(propagatesRequestContext(config({ NODE_ENV: "development" }), 20)).toBe(true);
    expect(propagatesRequestContext(config({ NODE_ENV: "test" }), 20)).toBe(true);
    const tracing = config({
      NODE_ENV: "production",
      LOG_LEVEL: "debug",
      DATABASE_LOG_QUERIES: "true",
    });
    expect(propagatesRequestContext(tracing, 20)).toBe(true);
    // debug alone logs no queries: nothing to attribute
    expect(
      propagatesRequestContext(config({ NODE_ENV: "production", LOG_LEVEL: "debug" }), 20),
    ).toBe(false);
  });

  it("on and off are obeyed whatever the runtime", () => {
    expect(
      propagatesRequestContext(config({ NODE_ENV: "production", LOG_REQUEST_CONTEXT: "on" }), 20),
    ).toBe(true);
    expect(propagatesRequestContext(config({ LOG_REQUEST_CONTEXT: "off" }), 24)).toBe(false);
  });

  it("rejects other values", () => {
    expect(() => config({ LOG_REQUEST_CONTEXT: "yes" })).toThrow(/LOG_REQUEST_CONTEXT/);
  });
});

describe("createLogger", () => {
  it("never writes a password, under any key that may carry one", () => {
    let out = "";
    const sink = new Writable({
      write(chunk, _encoding, done) {
        out += String(chunk);
        done();
      },
    });
    const logger = createLogger({ logLevel: "info", nodeEnv: "test" }, sink);
    const url = "postgres://app:s3cr3t-pw@db.internal:5432/app";
    logger.info({ password: "s3cr3t-pw" }, "a");
    logger.info({ url, databaseUrl: url, database: url }, "b");
    logger.info({ url: "http://localhost:3000" }, "c");
    expect(out).not.toContain("s3cr3t-pw");
    const lines = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines[0].password).toBe("***");
    expect(lines[1]).toMatchObject({ url: "postgres://app:***@db.internal:5432/app" });
    expect(lines[2].url).toBe("http://localhost:3000"); // no credentials: left as it is
  });
});
