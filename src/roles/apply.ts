/**
 * `db:roles`: reads what the catalog holds, plans the statements that bring the roles and
 * privileges to the state plan.ts describes, and runs them in one transaction, so a failure
 * (an administrator without CREATEROLE, say) leaves everything as it was.
 *
 * @example
 * const connection = await connectForMigrations(config.database); // as an administrator
 * const { statements } = await applyRoles(connection, { prefix: "ledger" });
 */
import type { MigrationConnection } from "../migrator/connection.js";
import { type RoleNames, roleNames } from "./names.js";
import {
  APP_READ_ONLY_TABLES,
  APP_SCHEMA,
  MIGRATIONS_SCHEMA,
  type ObjectKind,
  type PlannedStatement,
  planRoles,
  type RolesState,
} from "./plan.js";

export interface ApplyRolesOptions {
  prefix: string;
  /** Print the plan without running it. */
  dryRun?: boolean;
}

export async function applyRoles(
  connection: MigrationConnection,
  { prefix, dryRun = false }: ApplyRolesOptions,
): Promise<{ statements: PlannedStatement[] }> {
  const names = roleNames(prefix);
  await connection.execute("begin");
  try {
    // One run at a time per database: the plan is read, then acted on.
    await connection.query("select pg_advisory_xact_lock(hashtext('db:roles'))");
    const state = await readState(connection, names);
    const statements = planRoles(names, state);
    if (!dryRun) for (const statement of statements) await connection.execute(statement.sql);
    await connection.execute(dryRun ? "rollback" : "commit");
    return { statements };
  } catch (error) {
    await connection.execute("rollback").catch(() => undefined);
    throw error;
  }
}

const KINDS: Record<string, ObjectKind> = {
  r: "TABLE",
  p: "TABLE",
  S: "SEQUENCE",
  v: "VIEW",
  m: "MATERIALIZED VIEW",
  f: "FOREIGN TABLE",
};

async function readState(connection: MigrationConnection, names: RoleNames): Promise<RolesState> {
  const { owner, app, actor } = names;
  const roles = [owner, app, names.readonly, actor];
  const [database] = await connection.query<{ name: string }>("select current_database() as name");
  const existing = await connection.query<{ rolname: string; rolinherit: boolean }>(
    "select rolname, rolinherit from pg_roles where rolname = any($1::text[])",
    [roles],
  );
  const [membership] = await connection.query<{ member: boolean }>(
    `select exists (select 1 from pg_auth_members m
       join pg_roles g on g.oid = m.roleid join pg_roles u on u.oid = m.member
      where g.rolname = $1 and u.rolname = $2) as member`,
    [actor, app],
  );
  const [schemas] = await connection.query<{
    public_create: boolean;
    migrations_owner: string | null;
  }>(
    `select exists (select 1 from pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
              where n.nspname = $1 and a.grantee = 0 and a.privilege_type = 'CREATE') as public_create,
            (select pg_get_userbyid(nspowner) from pg_namespace where nspname = $2) as migrations_owner`,
    [APP_SCHEMA, MIGRATIONS_SCHEMA],
  );
  const schemaList = [APP_SCHEMA, MIGRATIONS_SCHEMA];
  // Sequences owned by a column (serial, identity) follow their table.
  const relations = await connection.query<{ relkind: string; name: string }>(
    `select c.relkind, format('%I.%I', n.nspname, c.relname) as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1::text[]) and c.relkind in ('r', 'p', 'S', 'v', 'm', 'f')
        and pg_get_userbyid(c.relowner) <> $2
        and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                          and d.objid = c.oid and d.deptype in ('a', 'i'))
      order by 2`,
    [schemaList, owner],
  );
  // Enums, domains, ranges and free-standing composite types; a table's row type follows it.
  const types = await connection.query<{ name: string }>(
    `select format('%I.%I', n.nspname, t.typname) as name
       from pg_type t join pg_namespace n on n.oid = t.typnamespace
      where n.nspname = any($1::text[]) and t.typtype in ('e', 'd', 'r', 'c')
        and (t.typtype <> 'c' or (select relkind from pg_class where oid = t.typrelid) = 'c')
        and pg_get_userbyid(t.typowner) <> $2
      order by 1`,
    [schemaList, owner],
  );
  const routines = await connection.query<{ name: string }>(
    `select format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as name
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = any($1::text[]) and p.prokind in ('f', 'p')
        and pg_get_userbyid(p.proowner) <> $2
        and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
      order by 1`,
    [schemaList, owner],
  );
  const readOnly = await connection.query<{ name: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = any($2::text[]) and c.relkind in ('r', 'p')
      order by 1`,
    [APP_SCHEMA, [...APP_READ_ONLY_TABLES]],
  );
  return {
    database: database?.name ?? "",
    existing: new Map(existing.map((row) => [row.rolname, { inherit: row.rolinherit }])),
    appMayBecomeActor: membership?.member ?? false,
    publicMayCreate: schemas?.public_create ?? false,
    migrationsSchema:
      schemas?.migrations_owner == null
        ? "missing"
        : schemas.migrations_owner === owner
          ? "owned"
          : "other_owner",
    foreignOwned: [
      ...relations.map((row) => ({ kind: KINDS[row.relkind] ?? "TABLE", name: row.name })),
      ...types.map((row) => ({ kind: "TYPE" as const, name: row.name })),
      ...routines.map((row) => ({ kind: "ROUTINE" as const, name: row.name })),
    ],
    readOnlyTables: readOnly.map((row) => row.name),
  };
}
