/**
 * The SQL `db:roles` runs, built from the names and what the catalog says now (`RolesState`,
 * read by apply.ts). Pure, so a unit test can read it. Every statement converges: running the
 * plan again changes nothing, and running it after someone granted too much takes the excess
 * back on the app's tables.
 *
 * What each role gets (docs/security.md, "Database roles"):
 * - owner: LOGIN; owns every object in the app schema and the migrations schema; CREATE on the
 *   database (migrations create their bookkeeping schema) and on the app schema.
 * - app: LOGIN NOINHERIT; SELECT, INSERT, UPDATE, DELETE on the app schema's tables (SELECT only
 *   on `APP_READ_ONLY_TABLES`), sequences' USAGE; may `SET ROLE` to the actor. Through default
 *   privileges, the same on every table the owner creates later. No TRUNCATE, no DDL, nothing in
 *   other schemas.
 * - readonly: LOGIN; SELECT on the same tables, now and later; read-only transactions by default.
 * - actor: NOLOGIN; its table privileges come with the policies, from the migration.
 */
import { ident, type RoleNames } from "./names.js";

/** The schema holding the app's tables (Drizzle's `pgTable` default). */
export const APP_SCHEMA = "public";
/** The migration runner's bookkeeping (src/migrator/bookkeeping.ts): the owner's alone. */
export const MIGRATIONS_SCHEMA = "drizzle";
/**
 * Tables the app may read but not write: the audit log is appended by its SECURITY DEFINER
 * trigger, never by the app's role (docs/security.md, "Audit log").
 */
export const APP_READ_ONLY_TABLES = ["audit_log", "audit_chain"] as const;

export interface RolesState {
  database: string;
  /** Roles of `RoleNames` that exist, with their INHERIT attribute. */
  existing: ReadonlyMap<string, { inherit: boolean }>;
  /** The app role is already a member of the actor role. */
  appMayBecomeActor: boolean;
  /** PUBLIC may create objects in the app schema (the default before PostgreSQL 15). */
  publicMayCreate: boolean;
  migrationsSchema: "missing" | "owned" | "other_owner";
  /** `ALTER ... OWNER TO owner` targets: objects in either schema owned by someone else. */
  foreignOwned: readonly { kind: ObjectKind; name: string }[];
  /** Tables of `APP_READ_ONLY_TABLES` that exist, schema-qualified and quoted. */
  readOnlyTables: readonly string[];
}

export type ObjectKind =
  | "TABLE"
  | "SEQUENCE"
  | "VIEW"
  | "MATERIALIZED VIEW"
  | "FOREIGN TABLE"
  | "TYPE"
  | "ROUTINE";

/** One idempotent statement with a comment saying what it is for (printed by `--dry-run`). */
export interface PlannedStatement {
  why: string;
  sql: string;
}

export function planRoles(names: RoleNames, state: RolesState): PlannedStatement[] {
  const { owner, app, readonly, actor } = names;
  const [o, a, r, x] = [owner, app, readonly, actor].map(ident) as [string, string, string, string];
  const db = ident(state.database);
  const schema = ident(APP_SCHEMA);
  const plan: PlannedStatement[] = [];
  const add = (why: string, sql: string) => plan.push({ why, sql });

  const create = (name: string, attributes: string) => {
    if (state.existing.has(name)) return;
    // A concurrent run (another database on the same cluster) may create it first.
    add(
      `create role ${name}`,
      `do $$ begin create role ${ident(name)} ${attributes}; ` +
        "exception when duplicate_object or unique_violation then null; end $$",
    );
  };
  create(owner, "login noinherit");
  create(app, "login noinherit");
  create(readonly, "login noinherit");
  create(actor, "nologin noinherit");
  // NOINHERIT: the app may switch to the actor, but must never carry the actor's restrictive
  // policies on its own service queries (PostgreSQL < 16 has no per-grant INHERIT option).
  if (state.existing.get(app)?.inherit) add(`${app} inherits nothing`, `alter role ${a} noinherit`);
  if (!state.appMayBecomeActor) add(`${app} may SET ROLE ${actor}`, `grant ${x} to ${a}`);
  add(
    `${readonly}: read-only transactions by default in this database`,
    `alter role ${r} in database ${db} set default_transaction_read_only = on`,
  );

  add("who may connect", `grant connect on database ${db} to ${o}, ${a}, ${r}`);
  add(`${owner} creates the migrations schema`, `grant create on database ${db} to ${o}`);
  if (state.publicMayCreate) {
    add("only the owner creates objects", `revoke create on schema ${schema} from public`);
  }
  add(`${owner} runs DDL`, `grant usage, create on schema ${schema} to ${o}`);
  add("the other roles only use it", `grant usage on schema ${schema} to ${a}, ${r}, ${x}`);
  if (state.migrationsSchema === "missing") {
    add(
      "migrations bookkeeping, the owner's alone",
      `create schema if not exists ${ident(MIGRATIONS_SCHEMA)} authorization ${o}`,
    );
  } else if (state.migrationsSchema === "other_owner") {
    add(
      "migrations bookkeeping, the owner's alone",
      `alter schema ${ident(MIGRATIONS_SCHEMA)} owner to ${o}`,
    );
  }
  for (const object of state.foreignOwned) {
    add(`${owner} owns it`, `alter ${object.kind.toLowerCase()} ${object.name} owner to ${o}`);
  }

  const tables = `all tables in schema ${schema}`;
  const sequences = `all sequences in schema ${schema}`;
  add(`${app}: DML`, `grant select, insert, update, delete on ${tables} to ${a}`);
  add(`${app}: no TRUNCATE`, `revoke truncate, references, trigger on ${tables} from ${a}`);
  add(`${app}: sequences`, `grant usage, select on ${sequences} to ${a}`);
  add(`${readonly}: reads`, `grant select on ${tables} to ${r}`);
  add(
    `${readonly}: no writes`,
    `revoke insert, update, delete, truncate, references, trigger on ${tables} from ${r}`,
  );
  add(`${readonly}: sequences`, `grant select on ${sequences} to ${r}`);
  add(`${readonly}: no nextval`, `revoke usage, update on ${sequences} from ${r}`);
  if (state.readOnlyTables.length > 0) {
    add(
      `${app}: reads the audit tables, never writes them`,
      `revoke insert, update, delete on ${state.readOnlyTables.join(", ")} from ${a}`,
    );
  }

  const future = `alter default privileges for role ${o} in schema ${schema}`;
  add(
    `${app}: DML on tables created later`,
    `${future} grant select, insert, update, delete on tables to ${a}`,
  );
  add(`${app}: sequences created later`, `${future} grant usage, select on sequences to ${a}`);
  add(`${readonly}: tables created later`, `${future} grant select on tables to ${r}`);
  add(`${readonly}: sequences created later`, `${future} grant select on sequences to ${r}`);
  return plan;
}

/** The plan as a script: what `db:roles -- --dry-run` prints, and what a DBA can run by hand. */
export function planScript(plan: readonly PlannedStatement[]): string {
  const lines = ["begin;"];
  for (const statement of plan) lines.push(`-- ${statement.why}`, `${statement.sql};`);
  lines.push("commit;");
  return lines.join("\n");
}
