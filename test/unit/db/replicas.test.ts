/**
 * The pure parts of read-replica routing: WAL positions, what counts as a write, and the
 * `DATABASE_REPLICA_*` variables. The routing itself is proven against a real streaming standby
 * in test/integration/replication/replicas.test.ts.
 */
import { describe, expect, it } from "vitest";
import { isReadOnlyStatement, parseLsn } from "../../../src/db/replicas.js";
import { parseConfig } from "../../../src/env.js";

describe("parseLsn", () => {
  it("reads pg_lsn text as bytes, ordered as the server orders them", () => {
    expect(parseLsn("0/0")).toBe(0n);
    expect(parseLsn("0/3000148")).toBe(0x3000148n);
    expect(parseLsn("16/B374D848")).toBe((0x16n << 32n) + 0xb374d848n);
    // The low half is not zero-padded: compare as numbers, never as text.
    expect(parseLsn("1/0") > parseLsn("0/FFFFFFFF")).toBe(true);
    expect(parseLsn("0/A0") > parseLsn("0/9F")).toBe(true);
  });

  it("refuses what is not a WAL position", () => {
    for (const bad of ["", "0", "0/", "/1", "x/1", "1/2/3"]) {
      expect(() => parseLsn(bad), bad).toThrow(/not a WAL position/);
    }
  });
});

describe("isReadOnlyStatement", () => {
  it("tells reads from statements that count as writes for read-your-writes", () => {
    for (const read of ["select 1", "  SELECT * from t", "(select 1) union (select 2)", "show x"]) {
      expect(isReadOnlyStatement(read), read).toBe(true);
    }
    for (const write of [
      "insert into t values ($1)",
      "update t set a = 1",
      "delete from t",
      "with x as (delete from t returning *) select * from x",
      "select_not_a_keyword()",
      "call p()",
    ]) {
      expect(isReadOnlyStatement(write), write).toBe(false);
    }
  });
});

describe("DATABASE_REPLICA_URLS", () => {
  const base = { DATABASE_URL: "postgres://app@db.internal:5432/app", NODE_ENV: "test" } as const;

  it("is a list of URLs, each resolved like DATABASE_URL; unset means none", () => {
    expect(parseConfig(base).database.replicas).toEqual([]);
    const config = parseConfig({
      ...base,
      DATABASE_STATEMENT_TIMEOUT: "1000",
      DATABASE_REPLICA_URLS:
        " postgres://app:pw@replica-1:5432/app?sslmode=require ,postgres://app@replica-2/app,",
      DATABASE_REPLICA_MAX_LAG_MS: "2000",
    });
    const [first, second, ...rest] = config.database.replicas;
    expect(rest).toEqual([]);
    expect(first?.url).toBe("postgres://app:pw@replica-1:5432/app");
    expect(first?.ssl).toBe("require");
    expect(first?.statementTimeoutMs).toBe(1000);
    expect(second?.url).toBe("postgres://app@replica-2/app");
    expect(second?.ssl).toBe("disable");
    expect(first?.replicas).toEqual([]);
    expect(config.database.replicaMaxLagMs).toBe(2000);
    expect(config.database.replicaCheckMs).toBe(1000);
    // Migrations write: never through replicas.
    expect(config.migrationDatabase.replicas).toEqual([]);
  });

  it("names itself in problems, and needs DATABASE_URL", () => {
    expect(() => parseConfig({ ...base, DATABASE_REPLICA_URLS: "mysql://r/app" })).toThrow(
      /DATABASE_REPLICA_URLS: each entry must be a postgres/,
    );
    expect(() =>
      parseConfig({ ...base, DATABASE_REPLICA_URLS: "postgres://r/app?sslmode=bogus" }),
    ).toThrow(/DATABASE_REPLICA_URLS: URL query sslmode/);
    expect(() =>
      parseConfig({ NODE_ENV: "test", DATABASE_REPLICA_URLS: "postgres://r/app" }),
    ).toThrow(/DATABASE_REPLICA_URLS: needs DATABASE_URL/);
    expect(() => parseConfig({ ...base, DATABASE_REPLICA_CHECK_MS: "10" })).toThrow(
      /DATABASE_REPLICA_CHECK_MS/,
    );
  });
});
