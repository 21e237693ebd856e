/**
 * The database the plan tests explain against: migrated, seeded at `PLAN_SEED` size, vacuumed
 * and analyzed. Built once and kept on the server as a template named after a hash of what it
 * is made of (the migrations, the seed's code, the sizes): a run that finds it clones it in
 * about a second; a change to any of those inputs builds a new one (a minute or two) and drops
 * the old. Used by the plan tests and by `npm run plans:update`, so it needs no vitest.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { seed } from "../../seeds/index.js";
import { createProgressReporter } from "../../seeds/progress.js";
import { createDatabase, type Database } from "../../src/db/client.js";
import { parseConfig } from "../../src/env.js";
import { migrateDatabaseUrl } from "../../src/migrator/migrate.js";

/** The size the plans are judged at (and the budgets recorded at). */
export const PLAN_SEED = { users: 100_000, transfers: 500_000 } as const;

/** Part of the template's key: bump it when this module builds templates differently. */
const BUILD_VERSION = 1;
const PREFIX = "plans_tpl_";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The files whose content decides what the template holds. */
const INPUT_FOLDERS = ["drizzle", "drizzle/meta", "seeds"];

/** A hash of the migrations, the seed's code and the sizes: equal hashes, equal databases. */
export function templateName(): string {
  const hash = createHash("sha256").update(JSON.stringify({ PLAN_SEED, BUILD_VERSION }));
  for (const folder of INPUT_FOLDERS) {
    for (const file of readdirSync(join(ROOT, folder)).sort()) {
      const path = join(ROOT, folder, file);
      // drizzle/meta's snapshots describe the schema the migrations already make.
      if (!statSync(path).isFile() || /_snapshot\.json$/.test(file)) continue;
      hash.update(`${folder}/${file}\0`).update(readFileSync(path)).update("\0");
    }
  }
  return `${PREFIX}${hash.digest("hex").slice(0, 12)}`;
}

/** `url` pointing at another database of the same server. */
export function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function withAdmin<T>(url: string, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The template's name, after building it if this server has none for the current inputs.
 * Processes building at once (parallel runs of several people) queue on an advisory lock; the
 * later ones find the template built. `log` receives the build's progress lines.
 */
export async function ensurePlanTemplate(
  adminUrl: string,
  log: (line: string) => void = console.info,
): Promise<string> {
  const name = templateName();
  return withAdmin(adminUrl, async (admin) => {
    await admin`select pg_advisory_lock(hashtext('test/plans template'))`;
    try {
      const [found] = await admin`select 1 from pg_database where datname = ${name}`;
      if (found) return name;
      await dropOtherTemplates(admin, name);
      const building = `${name}_build_${randomBytes(3).toString("hex")}`;
      await admin.unsafe(`create database ${quote(building)}`);
      const started = performance.now();
      log(`[plans] building ${name}: ${JSON.stringify(PLAN_SEED)}, once per migrations + seed`);
      await build(databaseUrl(adminUrl, building), log);
      await admin.unsafe(`alter database ${quote(building)} rename to ${quote(name)}`);
      log(`[plans] ${name} ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return name;
    } finally {
      await admin`select pg_advisory_unlock(hashtext('test/plans template'))`;
    }
  });
}

async function build(url: string, log: (line: string) => void) {
  const config = parseConfig({ DATABASE_URL: url, NODE_ENV: "test" }).database;
  await migrateDatabaseUrl(config);
  const database = await createDatabase(config);
  const progress = createProgressReporter({ write: (text) => log(`[plans] ${text.trimEnd()}`) });
  try {
    await seed(database.db, { ...PLAN_SEED, onProgress: progress.update });
  } finally {
    await database.close();
  }
}

/**
 * Templates of older inputs, and builds a killed run left behind (the lock is held, so no
 * build is running). One being cloned right now can't be dropped: it stays until next time.
 */
async function dropOtherTemplates(admin: postgres.Sql, keep: string) {
  const others = await admin<{ datname: string }[]>`
    select datname from pg_database
    where starts_with(datname, ${PREFIX}) and datname <> ${keep}`;
  for (const { datname } of others) {
    await admin.unsafe(`drop database if exists ${quote(datname)}`).catch(() => undefined);
  }
}

export interface PlanDatabase {
  database: Database;
  url: string;
  /** Closes the pool and drops the clone. */
  drop(): Promise<void>;
}

/** A clone of the template, named `name` (the test setup's cleanup finds `test_…<runId>…`). */
export async function clonePlanTemplate(
  adminUrl: string,
  template: string,
  name: string,
): Promise<PlanDatabase> {
  await withAdmin(adminUrl, (admin) =>
    admin.unsafe(`create database ${quote(name)} template ${quote(template)}`),
  );
  const url = databaseUrl(adminUrl, name);
  const database = await createDatabase(
    parseConfig({ DATABASE_URL: url, NODE_ENV: "test" }).database,
  );
  return {
    database,
    url,
    drop: async () => {
      await database.close();
      await withAdmin(adminUrl, (admin) =>
        admin.unsafe(`drop database if exists ${quote(name)} with (force)`),
      );
    },
  };
}
