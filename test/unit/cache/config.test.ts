import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../src/env.js";

describe("result cache configuration", () => {
  it("is off by default", () => {
    expect(parseConfig({}).cache).toEqual({
      redisUrl: undefined,
      ttlSeconds: 30,
      keyPrefix: "pg-drizzle-template",
      timeoutMs: 200,
    });
  });

  it("reads the variables", () => {
    const config = parseConfig({
      CACHE_REDIS_URL: "rediss://:secret@cache.internal:6380/2",
      CACHE_TTL_SECONDS: "5",
      CACHE_KEY_PREFIX: "orders:v2",
      CACHE_TIMEOUT_MS: "50",
    });
    expect(config.cache).toEqual({
      redisUrl: "rediss://:secret@cache.internal:6380/2",
      ttlSeconds: 5,
      keyPrefix: "orders:v2",
      timeoutMs: 50,
    });
  });

  it("names every bad variable, never its value", () => {
    const parse = () =>
      parseConfig({
        CACHE_REDIS_URL: "http://:secret@cache.internal",
        CACHE_TTL_SECONDS: "0",
        CACHE_KEY_PREFIX: "has space",
      });
    expect(parse).toThrow(ConfigError);
    try {
      parse();
    } catch (error) {
      const variables = (error as ConfigError).problems.map((p) => p.variable).sort();
      expect(variables).toEqual(["CACHE_KEY_PREFIX", "CACHE_REDIS_URL", "CACHE_TTL_SECONDS"]);
      expect((error as Error).message).not.toContain("secret");
    }
  });
});
