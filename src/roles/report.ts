/**
 * The access review behind `db:roles -- --report`: who can do what in the current database,
 * read from the catalog (anyone may read it, so the read-only role can run the review):
 * roles and their attributes, database, schema and table privileges, default privileges for
 * objects not yet created, row-level security policies, and findings worth a second look
 * (superusers, roles that bypass RLS, PUBLIC privileges).
 *
 * @example
 * const report = await readAccessReport(connection);
 * console.log(renderAccessReport(report));
 */
import type { MigrationConnection } from "../migrator/connection.js";
import { APP_READ_ONLY_TABLES, APP_SCHEMA } from "./plan.js";

const WRITES = ["INSERT", "UPDATE", "DELETE", "TRUNCATE"];

export interface AccessReport {
  database: string;
  roles: {
    name: string;
    login: boolean;
    superuser: boolean;
    bypassRls: boolean;
    createRole: boolean;
    createDb: boolean;
    inherit: boolean;
    memberOf: string[];
    canConnect: boolean;
  }[];
  databaseGrants: Grant[];
  schemas: { schema: string; owner: string; grants: Grant[] }[];
  tables: {
    table: string;
    owner: string;
    rowSecurity: boolean;
    forceRowSecurity: boolean;
    grants: Grant[];
  }[];
  defaultPrivileges: { owner: string; schema: string; objects: string; grants: Grant[] }[];
  policies: {
    table: string;
    name: string;
    mode: string;
    command: string;
    roles: string[];
    using: string | null;
    withCheck: string | null;
  }[];
  findings: string[];
}

/** One grantee's privileges on one object; `PUBLIC` is every role. */
export interface Grant {
  grantee: string;
  privileges: string[];
}

const USER_SCHEMAS = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'`;
/** Rows of `aclexplode` grouped per grantee, with `acldefault` for a NULL ACL. */
const grantsOf = (acl: string, kind: string, owner: string) =>
  `(select coalesce(json_agg(json_build_object('grantee', g.grantee, 'privileges', g.privileges)
                              order by g.grantee), '[]')
      from (select case when a.grantee = 0 then 'PUBLIC' else pg_get_userbyid(a.grantee) end as grantee,
                   array_agg(a.privilege_type order by a.privilege_type) as privileges
              from aclexplode(coalesce(${acl}, acldefault('${kind}', ${owner}))) a
             group by a.grantee) g)`;

export async function readAccessReport(connection: MigrationConnection): Promise<AccessReport> {
  const q = <T extends Record<string, unknown>>(text: string) => connection.query<T>(text);
  const [db] = await q<{ name: string; grants: Grant[] }>(
    `select d.datname as name, ${grantsOf("d.datacl", "d", "d.datdba")} as grants
       from pg_database d where d.datname = current_database()`,
  );
  const roles = await q<AccessReport["roles"][number]>(
    `select r.rolname as name, r.rolcanlogin as login, r.rolsuper as superuser,
            r.rolbypassrls as "bypassRls", r.rolcreaterole as "createRole", r.rolcreatedb as "createDb",
            r.rolinherit as inherit,
            array(select g.rolname::text from pg_auth_members m join pg_roles g on g.oid = m.roleid
                   where m.member = r.oid order by 1) as "memberOf",
            has_database_privilege(r.oid, current_database(), 'CONNECT') as "canConnect"
       from pg_roles r where r.rolname !~ '^pg_' order by r.rolname`,
  );
  const schemas = await q<AccessReport["schemas"][number]>(
    `select n.nspname as schema, pg_get_userbyid(n.nspowner) as owner,
            ${grantsOf("n.nspacl", "n", "n.nspowner")} as grants
       from pg_namespace n where ${USER_SCHEMAS} order by 1`,
  );
  const tables = await q<AccessReport["tables"][number]>(
    `select format('%I.%I', n.nspname, c.relname) as table, pg_get_userbyid(c.relowner) as owner,
            c.relrowsecurity as "rowSecurity", c.relforcerowsecurity as "forceRowSecurity",
            ${grantsOf("c.relacl", "r", "c.relowner")} as grants
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'v', 'm', 'f') and ${USER_SCHEMAS} order by 1`,
  );
  const defaults = await q<AccessReport["defaultPrivileges"][number]>(
    `select pg_get_userbyid(d.defaclrole) as owner, coalesce(n.nspname, '(all schemas)') as schema,
            case d.defaclobjtype when 'r' then 'tables' when 'S' then 'sequences'
              when 'f' then 'functions' when 'T' then 'types' when 'n' then 'schemas' end as objects,
            ${grantsOf("d.defaclacl", "r", "d.defaclrole")} as grants
       from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace order by 1, 2, 3`,
  );
  const policies = await q<AccessReport["policies"][number]>(
    `select format('%I.%I', p.schemaname, p.tablename) as table, p.policyname as name,
            p.permissive as mode, p.cmd as command, p.roles::text[] as roles,
            p.qual as using, p.with_check as "withCheck"
       from pg_policies p order by 1, 2`,
  );
  const report: AccessReport = {
    database: db?.name ?? "",
    roles,
    databaseGrants: db?.grants ?? [],
    schemas,
    tables,
    defaultPrivileges: defaults,
    policies,
    findings: [],
  };
  report.findings = findingsOf(report);
  return report;
}

function findingsOf(report: AccessReport): string[] {
  const findings: string[] = [];
  for (const role of report.roles) {
    if (role.superuser && role.login && role.canConnect) {
      findings.push(
        `${role.name} is a superuser that can log in: it bypasses every privilege and policy`,
      );
    } else if (role.bypassRls && role.canConnect) {
      findings.push(`${role.name} has BYPASSRLS: row-level security policies don't apply to it`);
    }
  }
  const publicGrant = (grants: Grant[], privilege: string) =>
    grants.some((g) => g.grantee === "PUBLIC" && g.privileges.includes(privilege));
  if (publicGrant(report.databaseGrants, "CONNECT")) {
    findings.push(
      `PUBLIC may connect to ${report.database}: every role of the cluster can log in to it`,
    );
  }
  for (const schema of report.schemas) {
    if (publicGrant(schema.grants, "CREATE")) {
      findings.push(`PUBLIC may create objects in schema ${schema.schema}`);
    }
  }
  for (const table of report.tables) {
    const writers = table.grants.filter((g) => g.grantee === "PUBLIC" && g.privileges.length > 0);
    if (writers.length > 0) findings.push(`PUBLIC has privileges on ${table.table}`);
    const [schema, name = ""] = table.table.split(".");
    if (schema === APP_SCHEMA && (APP_READ_ONLY_TABLES as readonly string[]).includes(name)) {
      for (const grant of table.grants) {
        const writes = grant.privileges.some((p) => WRITES.includes(p));
        if (writes && grant.grantee !== table.owner) {
          findings.push(`${grant.grantee} may write ${table.table}: run db:roles again`);
        }
      }
    }
    if (table.rowSecurity && !table.forceRowSecurity) {
      findings.push(`${table.table}: row-level security is not FORCEd, so its owner bypasses it`);
    }
  }
  return findings;
}

/** The report as text: one section per question. */
export function renderAccessReport(report: AccessReport): string {
  const out: string[] = [`access review of database ${report.database}`, ""];
  const grants = (list: Grant[]) =>
    list.map((g) => `${g.grantee}: ${g.privileges.join(" ").toLowerCase()}`).join("; ") || "-";
  out.push("roles (login, attributes, member of, may connect here):");
  for (const role of report.roles) {
    const attributes = [
      role.login ? "login" : "nologin",
      role.superuser && "SUPERUSER",
      role.bypassRls && "BYPASSRLS",
      role.createRole && "createrole",
      role.createDb && "createdb",
      role.inherit ? "inherit" : "noinherit",
    ].filter(Boolean);
    const member = role.memberOf.length > 0 ? `  member of ${role.memberOf.join(", ")}` : "";
    out.push(
      `  ${role.name}  ${attributes.join(" ")}${member}${role.canConnect ? "" : "  (no CONNECT)"}`,
    );
  }
  out.push("", `database ${report.database}: ${grants(report.databaseGrants)}`, "", "schemas:");
  for (const s of report.schemas) out.push(`  ${s.schema}  owner ${s.owner}  ${grants(s.grants)}`);
  out.push("", "tables (owner, row-level security, grants):");
  for (const t of report.tables) {
    const rls = t.rowSecurity ? (t.forceRowSecurity ? "rls forced" : "rls") : "no rls";
    out.push(`  ${t.table}  owner ${t.owner}  ${rls}  ${grants(t.grants)}`);
  }
  out.push("", "default privileges (objects created later):");
  for (const d of report.defaultPrivileges) {
    out.push(`  by ${d.owner} in ${d.schema}, ${d.objects}: ${grants(d.grants)}`);
  }
  out.push("", "row-level security policies:");
  const oneLine = (text: string) => text.replaceAll(/\s+/g, " ");
  for (const p of report.policies) {
    const check = p.withCheck ? `  check ${oneLine(p.withCheck)}` : "";
    const rule = `${p.mode.toLowerCase()} ${p.command.toLowerCase()} to ${p.roles.join(", ")}`;
    out.push(`  ${p.table} ${p.name}  ${rule}  using ${oneLine(p.using ?? "-")}${check}`);
  }
  out.push("", report.findings.length > 0 ? "findings:" : "findings: none");
  for (const finding of report.findings) out.push(`  - ${finding}`);
  return out.join("\n");
}
