/**
 * `db:roles` on a real server: what each role can and can't do, idempotence, default
 * privileges for tables created later, the access review, and the migrator on its own login.
 * Each file makes roles of its own prefix (helpers.ts); PGlite has one login, so these skip.
 */
import { randomBytes } from "node:crypto";
import { type SQL, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { AppTransaction } from "../../../src/db/client.js";
import { accounts, users } from "../../../src/db/schema/index.js";
import { parseConfig } from "../../../src/env.js";
import { connectForMigrations } from "../../../src/migrator/connection.js";
import { applyRoles } from "../../../src/roles/apply.js";
import { type RoleNames, roleNames } from "../../../src/roles/names.js";
import { readAccessReport } from "../../../src/roles/report.js";
import { withDatabase } from "../../setup/global-setup.js";
import {
  createTestDatabase,
  NEEDS_SERVER,
  onRealServer,
  type TestDatabase,
  withAdmin,
} from "../../setup/test-database.js";
import {
  asRole,
  connectAs,
  createRoles,
  dropRoles,
  runCli,
  sqlstate,
  uniquePrefix,
} from "./helpers.js";

describe.skipIf(!onRealServer())(`db:roles (${NEEDS_SERVER})`, () => {
  const prefix = uniquePrefix();
  let test: TestDatabase;
  let names: RoleNames;
  let adminUrl: string;
  let url: string;
  const opened: { close(): Promise<void> }[] = [];
  const as = async (role: string) => {
    const database = await connectAs(url, role);
    opened.push(database);
    return database.db;
  };

  beforeAll(async () => {
    adminUrl = inject("testDatabase").adminUrl ?? "";
    test = await createTestDatabase();
    url = test.url ?? "";
    names = await createRoles(url, prefix);
    // Another schema, which the app's roles must not see into.
    await test.database.db.execute(
      sql`create schema other; create table other.secrets (id int); insert into other.secrets values (1)`,
    );
  });
  afterAll(async () => {
    for (const database of opened) await database.close();
    await test?.drop();
    if (names) await dropRoles(adminUrl, names);
  });

  it("lets the app role read and write the app's tables", async () => {
    const db = await as(names.app);
    const [user] = await db
      .insert(users)
      .values({ email: `app-${randomBytes(4).toString("hex")}@example.com`, name: "App" })
      .returning();
    const [account] = await db
      .insert(accounts)
      .values({ userId: user?.id ?? "", currency: "EUR", balance: 10 })
      .returning();
    await db.update(accounts).set({ balance: 20 }).where(sql`${accounts.id} = ${account?.id}`);
    expect(
      (await db.select().from(accounts).where(sql`${accounts.id} = ${account?.id}`))[0]?.balance,
    ).toBe(20);
  });

  it("refuses the app role DROP, ALTER, TRUNCATE, CREATE and other schemas", async () => {
    const db = await as(names.app);
    const refused = (statement: string) => sqlstate(db.execute(sql.raw(statement)));
    expect(await refused("drop table transfers")).toBe("42501");
    expect(await refused("alter table users add column nickname text")).toBe("42501");
    expect(await refused("truncate accounts")).toBe("42501");
    expect(await refused("create table public.mine (id int)")).toBe("42501");
    expect(await refused("create schema mine")).toBe("42501");
    expect(await refused("select * from other.secrets")).toBe("42501");
    expect(await refused('select * from drizzle."__drizzle_migrations"')).toBe("42501");
    expect(await refused("create index on users (name)")).toBe("42501");
  });

  it("lets the read-only role read, and refuses every write", async () => {
    const db = await as(names.readonly);
    expect(await db.execute(sql`select count(*) from users`)).toHaveLength(1);
    // Read-only transactions by default (25006); switching that off still leaves no privilege.
    expect(
      await sqlstate(db.execute(sql`insert into users (email, name) values ('r@x.io', 'R')`)),
    ).toBe("25006");
    await db.transaction(async (tx) => {
      await tx.execute(sql`set local default_transaction_read_only = off`);
      await tx.execute(sql`set local transaction_read_only = off`);
      expect(
        await sqlstate(
          withSavepoint(tx, sql`insert into users (email, name) values ('r@x.io', 'R')`),
        ),
      ).toBe("42501");
      expect(await sqlstate(withSavepoint(tx, sql`update accounts set balance = 0`))).toBe("42501");
      expect(await sqlstate(withSavepoint(tx, sql`delete from transfers`))).toBe("42501");
      expect(await sqlstate(withSavepoint(tx, sql`truncate users`))).toBe("42501");
    });
    expect(await sqlstate(db.execute(sql`select * from other.secrets`))).toBe("42501");
  });

  it("covers tables the owner creates later through default privileges", async () => {
    const owner = await as(names.owner);
    const table = `later_${randomBytes(3).toString("hex")}`;
    await owner.execute(sql.raw(`create table public.${table} (id serial primary key, note text)`));
    const app = await as(names.app);
    await app.execute(sql.raw(`insert into public.${table} (note) values ('a')`));
    expect(await app.execute(sql.raw(`select note from public.${table}`))).toEqual([{ note: "a" }]);
    expect(await sqlstate(app.execute(sql.raw(`drop table public.${table}`)))).toBe("42501");
    const readonly = await as(names.readonly);
    expect(await readonly.execute(sql.raw(`select note from public.${table}`))).toEqual([
      { note: "a" },
    ]);
  });

  it("is idempotent: a second run plans no new role and changes no privilege", async () => {
    const connection = await connectForMigrations(parseConfig({ DATABASE_URL: url }).database);
    try {
      const before = await readAccessReport(connection);
      const { statements } = await applyRoles(connection, { prefix });
      expect(statements.filter((s) => s.sql.includes("create role"))).toEqual([]);
      expect(statements.filter((s) => s.sql.includes("owner to"))).toEqual([]);
      expect(await readAccessReport(connection)).toEqual(before);
    } finally {
      await connection.close();
    }
  });

  it("reports who can do what (--report)", async () => {
    const text = await runCli("src/cli/roles.ts", ["--report"], { DATABASE_URL: url });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`${names.app}  login noinherit  member of ledger_actor`);
    expect(text.stdout).toMatch(/public\.accounts {2}owner t_\w+_owner {2}rls forced/);
    expect(text.stdout).toContain("accounts_actor_rows  restrictive all to ledger_actor");
    expect(text.stdout).toContain(`by ${names.owner} in public, tables:`);
    expect(text.stdout).toContain("postgres is a superuser that can log in");
    const json = await runCli("src/cli/roles.ts", ["--report", "--json"], { DATABASE_URL: url });
    const report = JSON.parse(json.stdout) as Awaited<ReturnType<typeof readAccessReport>>;
    const app = report.tables.find((t) => t.table === "public.users")?.grants;
    expect(app?.find((g) => g.grantee === names.app)?.privileges).toEqual([
      "DELETE",
      "INSERT",
      "SELECT",
      "UPDATE",
    ]);
    expect(app?.find((g) => g.grantee === names.readonly)?.privileges).toEqual(["SELECT"]);
  });
});

describe.skipIf(!onRealServer())(`db:migrate on the owner's login (${NEEDS_SERVER})`, () => {
  const prefix = uniquePrefix();
  const name = `test_roles_${randomBytes(4).toString("hex")}`;
  let adminUrl: string;
  let names: RoleNames | undefined;
  beforeAll(() => {
    adminUrl = inject("testDatabase").adminUrl ?? "";
  });
  afterAll(async () => {
    await withAdmin(adminUrl, (s) => s.unsafe(`drop database if exists "${name}" with (force)`));
    if (names) await dropRoles(adminUrl, names);
  });

  it("creates the roles on an empty database, then migrates as the owner", async () => {
    await withAdmin(adminUrl, (s) => s.unsafe(`create database "${name}"`));
    const url = withDatabase(adminUrl, name);
    const roles = await runCli("src/cli/roles.ts", ["--prefix", prefix], { DATABASE_URL: url });
    expect(roles.code, roles.stderr).toBe(0);
    names = roleNames(prefix);
    const appUrl = asRole(url, names.app);
    const ownerUrl = asRole(url, names.owner);

    // The server's login can't run migrations...
    const refused = await runCli("src/cli/db.ts", ["migrate"], { DATABASE_URL: appUrl });
    expect(refused.code).toBe(1);
    // ...the owner's, named by MIGRATION_DATABASE_URL, does.
    const migrated = await runCli("src/cli/db.ts", ["migrate"], {
      DATABASE_URL: appUrl,
      MIGRATION_DATABASE_URL: ownerUrl,
    });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain("migration(s) applied");

    const owned = await withAdmin(url, (s) =>
      s.unsafe(`select distinct pg_get_userbyid(relowner) as owner from pg_class
                 where relnamespace = 'public'::regnamespace and relkind = 'r'`),
    );
    expect(owned).toEqual([{ owner: names.owner }]);
    const app = await connectAs(url, names.app);
    try {
      await app.db.insert(users).values({ email: "new@example.com", name: "New" });
      expect(await app.db.select().from(users)).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});

/** A statement in a savepoint, so that its refusal leaves the transaction usable. */
function withSavepoint(tx: AppTransaction, statement: SQL) {
  return tx.transaction((sp) => sp.execute(statement));
}
