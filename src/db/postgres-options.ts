/**
 * postgres.js options from the validated config, and the socket factory that counts the pool's
 * connections. Only options from postgres.js's README ("All Postgres options", "Custom socket").
 *
 * @example
 * const sql = postgres(config.url, { ...postgresOptions(config), max: 1 });
 */
import { connect as connectSocket, type Socket } from "node:net";
import type postgres from "postgres";
import type { DatabaseConfig } from "../env.js";
import type { Logger } from "../logger.js";
import { parseDatabaseUrl } from "./connection-url.js";

/** Connection counts kept by `countingSocket`; undefined where the driver opens its own sockets. */
export interface ConnectionCounters {
  /** Sockets connected and not yet closed. */
  open: number;
  opened: number;
  closed: number;
  failed: number;
}

export const newConnectionCounters = (): ConnectionCounters => ({
  open: 0,
  opened: 0,
  closed: 0,
  failed: 0,
});

/** True for `postgres://a,b/db`: postgres.js rotates through the hosts itself. */
export const isMultiHost = (url: string | undefined) =>
  url !== undefined && parseDatabaseUrl(url).hosts.length > 1;

/**
 * The options every postgres.js client of the template uses. With `counters`, single-host
 * connections go through `countingSocket` (several hosts keep postgres.js's own socket, which
 * rotates through them and retries for `target_session_attrs`).
 */
export function postgresOptions(
  config: DatabaseConfig,
  logger?: Logger,
  counters?: ConnectionCounters,
): postgres.Options<Record<string, postgres.PostgresType>> {
  const ownSocket = !isMultiHost(config.url);
  return {
    // `socket` is documented in postgres.js's README but missing from its type declarations.
    ...(ownSocket
      ? ({ socket: (target: SocketTarget) => countingSocket(target, counters) } as object)
      : {}),
    max: config.poolMax,
    idle_timeout: config.idleTimeoutSeconds,
    max_lifetime: config.maxLifetimeSeconds || null,
    connect_timeout: config.connectTimeoutSeconds,
    prepare: config.prepare,
    ssl:
      config.ssl === "disable"
        ? false
        : config.ssl === "require"
          ? "require"
          : { rejectUnauthorized: true, ...(config.sslCa ? { ca: config.sslCa } : {}) },
    connection: {
      application_name: config.applicationName,
      // PgBouncer refuses a startup parameter it doesn't know ("unsupported startup parameter"):
      // behind it, the timeout is the role's (ALTER ROLE ... SET statement_timeout).
      ...(config.statementTimeoutMs > 0 && config.pooler === "none"
        ? { statement_timeout: config.statementTimeoutMs }
        : {}),
    },
    onnotice: (notice) => logger?.debug({ notice: notice.message }, "postgres notice"),
  };
}

/** What postgres.js hands a `socket` factory: its resolved options. */
interface SocketTarget {
  host: string[];
  port: number[];
  path: string | false;
}

/**
 * A plain TCP (or Unix) socket for postgres.js, with two differences from its own:
 * - TCP_NODELAY. postgres.js leaves Nagle's algorithm on (libpq, pgjdbc and PgBouncer turn it
 *   off), so a small write right after another (COPY's CopyDone after its data) waits for the
 *   server's delayed ACK: 40 ms on Linux, for every COPY and the query after it.
 * - it counts connections opened, closed and failed, for `database.poolStats()`.
 * It returns the socket still connecting, as the README's example does: writes queue until it is
 * up, and connect_timeout, TLS, errors and reconnects take postgres.js's usual path.
 */
function countingSocket({ host, port, path }: SocketTarget, counters?: ConnectionCounters): Socket {
  const [hostname] = host;
  const [portNumber = 5432] = port;
  const socket = path
    ? connectSocket({ path })
    : connectSocket({ host: hostname, port: portNumber, noDelay: true });
  if (counters) {
    let connected = false;
    socket.once("connect", () => {
      connected = true;
      counters.open++;
      counters.opened++;
    });
    socket.once("close", () => {
      if (!connected) {
        counters.failed++;
        return;
      }
      counters.open--;
      counters.closed++;
    });
  }
  // postgres.js reads these for TLS (SNI) and for its error messages.
  return Object.assign(socket, { host: hostname, port: portNumber });
}
