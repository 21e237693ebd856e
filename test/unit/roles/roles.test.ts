/**
 * The pure parts of least-privilege roles: names from the prefix, the plan `db:roles` runs for
 * a given catalog state, the per-user tokens of `/me`, and `MIGRATION_DATABASE_URL`.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/env.js";
import { roleNames } from "../../../src/roles/names.js";
import { planRoles, planScript, type RolesState } from "../../../src/roles/plan.js";
import { createActorTokenVerifier, signActorToken } from "../../../src/security/actor-tokens.js";

const names = roleNames("shop");
const fresh: RolesState = {
  database: "shop",
  existing: new Map(),
  appMayBecomeActor: false,
  publicMayCreate: true,
  migrationsSchema: "missing",
  foreignOwned: [{ kind: "TABLE", name: "public.users" }],
  readOnlyTables: ['public."audit_log"'],
};

describe("role names", () => {
  it("prefixes the login roles and keeps the actor's fixed name", () => {
    expect(names).toEqual({
      owner: "shop_owner",
      app: "shop_app",
      readonly: "shop_readonly",
      actor: "ledger_actor",
    });
  });

  it("refuses a prefix that would need quoting or exceed the name limit", () => {
    for (const bad of ["", "Shop", "1shop", "shop-app", 'sh"op', "x".repeat(41)]) {
      expect(() => roleNames(bad), bad).toThrow(RangeError);
    }
  });
});

describe("the db:roles plan", () => {
  it("creates what is missing, hands objects to the owner, and sets present and future grants", () => {
    const sql = planRoles(names, fresh).map((s) => s.sql);
    expect(sql.filter((s) => s.includes("create role")).length).toBe(4);
    expect(sql).toContain('grant "ledger_actor" to "shop_app"');
    expect(sql).toContain('revoke create on schema "public" from public');
    expect(sql).toContain('create schema if not exists "drizzle" authorization "shop_owner"');
    expect(sql).toContain('alter table public.users owner to "shop_owner"');
    expect(sql).toContain('revoke insert, update, delete on public."audit_log" from "shop_app"');
    expect(sql).toContain(
      'alter default privileges for role "shop_owner" in schema "public" grant select, insert, update, delete on tables to "shop_app"',
    );
    expect(sql.some((s) => /grant .*truncate/.test(s))).toBe(false);
  });

  it("plans only converging statements once everything exists", () => {
    const settled: RolesState = {
      ...fresh,
      existing: new Map(Object.values(names).map((name) => [name, { inherit: false }])),
      appMayBecomeActor: true,
      publicMayCreate: false,
      migrationsSchema: "owned",
      foreignOwned: [],
    };
    const sql = planRoles(names, settled).map((s) => s.sql);
    expect(sql.filter((s) => /create role|owner to|create schema|noinherit/.test(s))).toEqual([]);
  });

  it("takes INHERIT away from an app role that has it: the actor's policies must not follow it", () => {
    const inheriting: RolesState = {
      ...fresh,
      existing: new Map([[names.app, { inherit: true }]]),
    };
    expect(planRoles(names, inheriting).map((s) => s.sql)).toContain(
      'alter role "shop_app" noinherit',
    );
  });

  it("prints as one transaction with a reason per statement", () => {
    const script = planScript(planRoles(names, fresh));
    expect(script.startsWith("begin;\n-- create role shop_owner\n")).toBe(true);
    expect(script.endsWith("commit;")).toBe(true);
  });
});

describe("per-user tokens", () => {
  const secret = "s".repeat(32);
  const user = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";

  it("name the user they were signed for, and no other", () => {
    const verifier = createActorTokenVerifier(secret);
    const token = signActorToken(secret, user);
    expect(token).toMatch(/^[\w-]+\.[\w-]{43}$/);
    expect(verifier.verify(token)).toBe(user);
    const other = "00000000-0000-4000-8000-000000000000";
    expect(verifier.verify(`${other}.${token.split(".")[1]}`)).toBeUndefined();
    expect(verifier.verify(signActorToken("t".repeat(32), user))).toBeUndefined();
    for (const bad of [
      "",
      ".",
      user,
      `${user}.`,
      `${user}.x`,
      `not-a-uuid.${token.split(".")[1]}`,
    ]) {
      expect(verifier.verify(bad), bad).toBeUndefined();
    }
  });
});

describe("MIGRATION_DATABASE_URL", () => {
  const base = { DATABASE_URL: "postgres://app@db.internal:5432/app", NODE_ENV: "test" } as const;

  it("is the migrations' login, with DATABASE_URL's other settings; unset, DATABASE_URL is", () => {
    const config = parseConfig({
      ...base,
      MIGRATION_DATABASE_URL: "postgres://owner:pw@db.internal:5432/app?sslmode=require",
      DATABASE_SSL_CA: undefined,
      DATABASE_STATEMENT_TIMEOUT: "1000",
    });
    expect(config.migrationDatabase.url).toBe("postgres://owner:pw@db.internal:5432/app");
    expect(config.migrationDatabase.ssl).toBe("require");
    expect(config.migrationDatabase.statementTimeoutMs).toBe(1000);
    expect(config.database.url).toBe("postgres://app@db.internal:5432/app");
    expect(parseConfig(base).migrationDatabase).toEqual(parseConfig(base).database);
    expect(parseConfig(base).rolePrefix).toBe("ledger");
  });

  it("names itself in problems, and needs DATABASE_URL", () => {
    expect(() =>
      parseConfig({ ...base, MIGRATION_DATABASE_URL: "postgres://o@h/app?sslmode=bogus" }),
    ).toThrow(/MIGRATION_DATABASE_URL: URL query sslmode/);
    expect(() =>
      parseConfig({ NODE_ENV: "test", MIGRATION_DATABASE_URL: "postgres://o@h/app" }),
    ).toThrow(/MIGRATION_DATABASE_URL: needs DATABASE_URL/);
    expect(() => parseConfig({ ...base, DATABASE_ROLE_PREFIX: "Bad-Prefix" })).toThrow(
      /DATABASE_ROLE_PREFIX/,
    );
  });
});
