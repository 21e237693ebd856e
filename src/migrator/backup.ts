/**
 * A `pg_dump --format=custom` of the database before a migration run changes it, restorable
 * with `pg_restore --clean --if-exists -d <url> <file>`.
 *
 * The password goes to pg_dump through a temporary passfile (mode 0600), never on its command
 * line (visible in `ps`) or in a variable this module would have to set in the environment.
 *
 * @example
 * const file = await backupDatabase(config.database, { dir: "backups", label: "before-migrate" });
 * console.log(`backup written to ${file}`);
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type DatabaseUrl, formatDatabaseUrl, parseDatabaseUrl } from "../db/connection-url.js";
import type { DatabaseConfig } from "../env.js";

const run = promisify(execFile);

/** True when `pg_dump` can be started from PATH. */
export async function pgDumpAvailable(): Promise<boolean> {
  try {
    await run("pg_dump", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

/** Dumps the database of `config` into `dir` and returns the file's absolute path. */
export async function backupDatabase(
  config: DatabaseConfig,
  options: { dir: string; label: string },
): Promise<string> {
  if (!config.url) throw new Error("backups need a postgres:// database (not embedded PGlite)");
  const parsed = parseDatabaseUrl(config.url);
  const { url } = parsed;
  const database = decodeURIComponent(url.pathname.slice(1)) || "postgres";
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  mkdirSync(options.dir, { recursive: true });
  const file = resolve(options.dir, `${database}-${stamp}-${options.label}.dump`);

  // Created first so pg_dump writes into a file only the owner can read: it holds all the data.
  writeFileSync(file, "", { mode: 0o600 });
  const secrets = mkdtempSync(join(tmpdir(), "pg-dump-"));
  try {
    const target = libpqUrl(config, parsed, secrets);
    await run("pg_dump", ["--format=custom", "--no-password", `--file=${file}`, target], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return file;
  } catch (error) {
    rmSync(file, { force: true });
    const stderr = (error as { stderr?: unknown }).stderr;
    throw new Error(`pg_dump failed: ${typeof stderr === "string" ? stderr.trim() : error}`);
  } finally {
    rmSync(secrets, { recursive: true, force: true });
  }
}

/** The connection URL for libpq: config's TLS and name settings, password via a passfile. */
function libpqUrl(config: DatabaseConfig, { url, hosts }: DatabaseUrl, secrets: string): string {
  const target = new URL(url.toString());
  if (target.password) {
    const passfile = join(secrets, "pgpass");
    // host:port:database:user:password, with ':' and '\' escaped.
    const password = decodeURIComponent(target.password).replace(/([:\\])/g, "\\$1");
    writeFileSync(passfile, `*:*:*:*:${password}\n`, { mode: 0o600 });
    target.password = "";
    target.searchParams.set("passfile", passfile);
  }
  target.searchParams.set("sslmode", config.ssl);
  if (config.sslCa) {
    const ca = join(secrets, "ca.pem");
    writeFileSync(ca, config.sslCa, { mode: 0o600 });
    target.searchParams.set("sslrootcert", ca);
  } else if (config.ssl === "verify-full") {
    // The app verifies against Node's public roots; libpq (16+) spells that "system".
    target.searchParams.set("sslrootcert", "system");
  }
  target.searchParams.set("application_name", `${config.applicationName}:backup`);
  target.searchParams.set("connect_timeout", String(config.connectTimeoutSeconds));
  return formatDatabaseUrl({ url: target, hosts });
}
