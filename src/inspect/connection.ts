/**
 * The one connection `db:inspect` uses: the app's postgres.js options (TLS, timeouts) from the
 * validated config, one connection, its own application_name so it is easy to tell apart (and
 * the queries leave it out anyway).
 *
 * @example
 * const sql = connectForInspection(config.database);
 * try {
 *   console.log(renderLong(await readLongSessions(sql, 5), 5));
 * } finally {
 *   await sql.end({ timeout: 5 });
 * }
 */
import postgres from "postgres";
import { postgresOptions } from "../db/postgres-options.js";
import type { DatabaseConfig } from "../env.js";

/** Statistics views take no locks, but `pg_relation_size` waits behind DDL: bound that wait. */
const LOCK_TIMEOUT_MS = 5000;

/** `tool` names the session in pg_stat_activity: `<application_name>:<tool>`. */
export function connectForInspection(config: DatabaseConfig, tool = "inspect"): postgres.Sql {
  if (!config.url) throw new Error("connectForInspection needs a postgres:// URL");
  const options = postgresOptions(config);
  return postgres(config.url, {
    ...options,
    max: 1,
    // A one-shot tool: no prepared statements to leave behind on the server.
    prepare: false,
    connection: {
      ...options.connection,
      application_name: `${config.applicationName}:${tool}`,
      lock_timeout: LOCK_TIMEOUT_MS,
    },
    onnotice: () => undefined,
  });
}
