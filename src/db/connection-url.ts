/**
 * Rules about the server's connection URL that `src/env.ts` applies while resolving the
 * configuration (docs/security.md, "Database connections: TLS and credentials").
 */
import { readFileSync } from "node:fs";
import { isIPv4 } from "node:net";

/**
 * A connection URL split as postgres.js (and libpq) read it. libpq's several hosts, each with
 * its port (`postgres://app@db1:5432,db2:5433/app`), are not a WHATWG URL (a port only after the
 * last host), so `new URL` refuses them: `url` holds the first host only, for the user, password,
 * database and query, and `hosts` the whole list, as written.
 */
export interface DatabaseUrl {
  url: URL;
  hosts: string[];
}

/** Throws `TypeError` (from `new URL`) when the text is not a URL, once its hosts are set aside. */
export function parseDatabaseUrl(text: string): DatabaseUrl {
  const afterScheme = text.indexOf("://");
  if (afterScheme < 0) throw new TypeError("not a URL");
  const authority = text.slice(afterScheme + 3).split(/[/?#]/)[0] ?? "";
  const at = authority.lastIndexOf("@");
  const hostList = authority.slice(at + 1);
  const hosts = hostList === "" ? [] : hostList.split(",");
  const first = text.slice(0, afterScheme + 3) + authority.slice(0, at + 1) + (hosts[0] ?? "");
  const url = new URL(first + text.slice(afterScheme + 3 + authority.length));
  if (hosts.some((host) => host === "")) throw new TypeError("an empty host in the host list");
  return { url, hosts };
}

/** `url` with its host replaced by the whole list again. */
export function formatDatabaseUrl({ url, hosts }: DatabaseUrl): string {
  if (hosts.length <= 1) return url.toString();
  const auth = url.username ? `${url.username}${url.password ? `:${url.password}` : ""}@` : "";
  return `${url.protocol}//${auth}${hosts.join(",")}${url.pathname}${url.search}${url.hash}`;
}

/** True for a URL that is a postgres:// or postgresql:// URL, several hosts included. */
export function isDatabaseUrl(text: string): boolean {
  try {
    return /^postgres(ql)?:$/.test(parseDatabaseUrl(text).url.protocol);
  } catch {
    return false;
  }
}

/**
 * `DATABASE_PASSWORD_FILE`: the file's content, without the line break `echo` or an editor
 * leaves at its end, becomes `url`'s password. A URL with a password of its own is refused
 * rather than overridden: one of the two would be stale, and nothing would say which.
 * Returns what is wrong (never the file's content), or undefined once `url` has the password.
 *
 * @example
 * const problem = applyPasswordFile(url, "/run/secrets/db_password");
 */
export function applyPasswordFile(url: URL, path: string): string | undefined {
  if (url.password) return "DATABASE_URL has a password too: keep it in only one place";
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch {
    return "file cannot be read";
  }
  const password = content.replace(/[\r\n]+$/, "");
  if (password === "") return "file is empty";
  if (/[\r\n]/.test(password)) return "file holds more than one line";
  // The WHATWG setter leaves `%` alone, which the driver would then decode: encode everything.
  url.password = encodeURIComponent(password);
  return undefined;
}

/**
 * True when every host of `url` is this machine: a loopback address, `localhost`, or a Unix
 * socket directory (`postgres://user@%2Fvar%2Frun%2Fpostgresql/app`). A URL without a host
 * reaches `PGHOST`, or localhost, as the driver does.
 *
 * @example
 * isLocalServer("postgres://app@127.0.0.1/app"); // true
 * isLocalServer("postgres://app@db.internal/app"); // false
 */
export function isLocalServer(url: string, pgHost?: string): boolean {
  const { hosts } = parseDatabaseUrl(url);
  return (hosts.length > 0 ? hosts : [pgHost || "localhost"]).every((entry) => {
    if (/^(\/|%2f)/i.test(entry)) return true;
    const name = entry
      .replace(/:\d+$/, "")
      .replace(/^\[(.*)\]$/, "$1")
      .toLowerCase();
    return name === "localhost" || name === "::1" || (isIPv4(name) && name.startsWith("127."));
  });
}
