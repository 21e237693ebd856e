/**
 * libpq's multi-host URLs, which WHATWG `URL` refuses, through the configuration, and
 * `target_session_attrs` with libpq's meaning.
 */
import { describe, expect, it } from "vitest";
import {
  formatDatabaseUrl,
  isLocalServer,
  parseDatabaseUrl,
} from "../../../src/db/connection-url.js";
import { isMultiHost } from "../../../src/db/postgres-options.js";
import { parseConfig, redactUrl } from "../../../src/env.js";

const MULTI = "postgres://app:s3cret@db1:5432,db2:5433/ledger?sslmode=require";

describe("parseDatabaseUrl", () => {
  it("keeps every host with its port, and round-trips", () => {
    expect(() => new URL(MULTI)).toThrow();
    const parsed = parseDatabaseUrl(MULTI);
    expect(parsed.hosts).toEqual(["db1:5432", "db2:5433"]);
    expect(parsed.url.username).toBe("app");
    expect(parsed.url.pathname).toBe("/ledger");
    expect(parsed.url.searchParams.get("sslmode")).toBe("require");
    expect(formatDatabaseUrl(parsed)).toBe(MULTI);
    const single = "postgres://app@db1:5432/ledger";
    expect(formatDatabaseUrl(parseDatabaseUrl(single))).toBe(single);
    expect(parseDatabaseUrl("postgres:///ledger").hosts).toEqual([]);
    expect(() => parseDatabaseUrl("db1:5432")).toThrow(TypeError);
    expect(() => parseDatabaseUrl("postgres://a@db1,,db2/x")).toThrow(TypeError);
  });

  it("serves the rules that read hosts", () => {
    expect(isMultiHost(MULTI)).toBe(true);
    expect(isMultiHost("postgres://app@db1/ledger")).toBe(false);
    expect(isLocalServer("postgres://a@127.0.0.1:5432,localhost:5433/x")).toBe(true);
    expect(isLocalServer("postgres://a@127.0.0.1:5432,db2:5433/x")).toBe(false);
    expect(redactUrl(MULTI)).toBe("postgres://app:***@db1:5432,db2:5433/ledger?sslmode=require");
  });
});

describe("DATABASE_URL with several hosts", () => {
  it("is accepted, with its query resolved as for one host", () => {
    const config = parseConfig({
      NODE_ENV: "test",
      DATABASE_URL: `${MULTI}&application_name=ledger-api&target_session_attrs=read-write`,
    });
    expect(config.database.ssl).toBe("require");
    expect(config.database.applicationName).toBe("ledger-api");
    // libpq's read-write refuses a hot standby; postgres.js's `primary` is that check.
    expect(config.database.url).toBe(
      "postgres://app:s3cret@db1:5432,db2:5433/ledger?target_session_attrs=primary",
    );
  });

  it("passes the other target_session_attrs on, drops libpq's default, refuses the rest", () => {
    const url = (attrs: string) =>
      parseConfig({
        NODE_ENV: "test",
        DATABASE_URL: `postgres://a@h1,h2/x?target_session_attrs=${attrs}`,
      }).database.url;
    expect(url("standby")).toBe("postgres://a@h1,h2/x?target_session_attrs=standby");
    expect(url("prefer-standby")).toBe("postgres://a@h1,h2/x?target_session_attrs=prefer-standby");
    expect(url("any")).toBe("postgres://a@h1,h2/x");
    expect(() => url("writable")).toThrow(/DATABASE_URL: URL query target_session_attrs/);
  });
});
