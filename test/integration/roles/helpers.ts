/**
 * Helpers for the roles and row-level security tests. Roles belong to the whole server, and
 * test files run in parallel against it, so every file makes roles of its own prefix and drops
 * them when done (after its database: a role can't be dropped while objects there depend on
 * it). A run killed half-way leaves its `t_…` roles behind; `dropRoles` of their names removes
 * them. Pure functions only: files in the shared vitest project import this module once.
 */
import { randomBytes } from "node:crypto";
import { createDatabase, type Database } from "../../../src/db/client.js";
import { parseConfig, testEnv } from "../../../src/env.js";
import { connectForMigrations } from "../../../src/migrator/connection.js";
import { applyRoles } from "../../../src/roles/apply.js";
import { type RoleNames, roleNames } from "../../../src/roles/names.js";
import { runEntry } from "../../setup/run-cli.js";
import { withAdmin } from "../../setup/test-database.js";

/** A prefix no other file or run uses: `t_` and 10 hex digits. */
export const uniquePrefix = () => `t_${randomBytes(5).toString("hex")}`;

/** `url` logging in as `role` (the test server trusts local connections: no password). */
export function asRole(url: string, role: string): string {
  const parsed = new URL(url);
  parsed.username = role;
  parsed.password = "";
  return parsed.toString();
}

/** Runs `db:roles` in-process as the URL's (administrator) login; returns the names. */
export async function createRoles(adminDbUrl: string, prefix: string): Promise<RoleNames> {
  const config = parseConfig({ DATABASE_URL: adminDbUrl, NODE_ENV: "test" });
  const connection = await connectForMigrations(config.database);
  try {
    await applyRoles(connection, { prefix });
  } finally {
    await connection.close();
  }
  return roleNames(prefix);
}

/** Drops the prefix's login roles (never the shared actor role, which other databases use). */
export async function dropRoles(serverUrl: string, names: RoleNames): Promise<void> {
  await withAdmin(serverUrl, (sql) =>
    sql.unsafe(`drop role if exists "${names.app}", "${names.readonly}", "${names.owner}"`),
  );
}

/** The app's database layer logged in as `role` (a small pool unless `env` says otherwise). */
export function connectAs(
  url: string,
  role: string,
  env: Record<string, string> = {},
): Promise<Database> {
  const config = parseConfig({
    DATABASE_URL: asRole(url, role),
    NODE_ENV: "test",
    DATABASE_POOL_MAX: "2",
    ...env,
  });
  return createDatabase(config.database);
}

/** The SQLSTATE of a rejected promise's typed error (or of the driver's error). */
export async function sqlstate(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    for (let e: unknown = error; e instanceof Error; e = (e as { cause?: unknown }).cause) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    }
    throw error;
  }
  throw new Error("expected the statement to be refused, and it succeeded");
}

/** Runs a CLI entry point (`src/cli/roles.ts`) through tsx with only `env` (and PATH). */
export const runCli = (entry: string, args: readonly string[], env: Record<string, string>) =>
  runEntry(entry, args, { PATH: testEnv().path, ...env });
