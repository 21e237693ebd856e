/**
 * Rules about the server's connection URL that `src/env.ts` applies while resolving the
 * configuration (docs/security.md, "Database connections: TLS and credentials").
 */
import { readFileSync } from "node:fs";
import { isIPv4 } from "node:net";

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
  const host = new URL(url).host || pgHost || "localhost";
  return host.split(",").every((entry) => {
    if (/^(\/|%2f)/i.test(entry)) return true;
    const name = entry
      .replace(/:\d+$/, "")
      .replace(/^\[(.*)\]$/, "$1")
      .toLowerCase();
    return name === "localhost" || name === "::1" || (isIPv4(name) && name.startsWith("127."));
  });
}
