/**
 * A private PostgreSQL cluster for tests that need to own the server's configuration — TLS
 * certificates, pg_hba.conf, authentication, streaming replication — which the shared test
 * server can't offer.
 *
 * `startCluster` runs initdb in a new temporary folder, listens on 127.0.0.1 on a free port
 * (and on a Unix socket in that folder, where the fixture's own superuser connects without a
 * password), and `stop()` removes it all. Clusters still running when the process exits are
 * stopped and deleted by an exit handler, so a failing test leaves nothing behind. Built for
 * speed, never for keeping data: initdb `--no-sync`, `fsync=off`, small `shared_buffers`.
 * A primary with a streaming standby: replication.ts, built on the exports below.
 *
 * PostgreSQL refuses to run as root; as root the server runs as the `postgres` user
 * (`runuser`), which owns the folder.
 *
 * @example
 * const unavailable = clusterUnavailable();
 * describe.skipIf(unavailable)(`... ${unavailable ?? ""}`, () => {
 *   let cluster: Cluster;
 *   beforeAll(async () => {
 *     cluster = await startCluster({ auth: "scram-sha-256", users: [{ name: "app", password }] });
 *   });
 *   afterAll(() => cluster?.stop());
 *   it("...", () => parseConfig({ DATABASE_URL: cluster.url("app", password) }));
 * });
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { testEnv } from "../../src/env.js";
import type { CertificatePair } from "./certificates.js";

const run = promisify(execFile);

export interface ClusterUser {
  name: string;
  /** Stored as a SCRAM-SHA-256 verifier (`password_encryption`). */
  password?: string;
  superuser?: boolean;
}

export interface ClusterOptions {
  /** Turns TLS on with this server certificate; `ca` verifies client certificates. */
  ssl?: CertificatePair & { ca?: string };
  /** Only TLS connections over TCP (pg_hba `hostssl`); default: true when `ssl` is set. */
  tlsOnly?: boolean;
  /** How TCP connections authenticate (pg_hba); default `trust`. */
  auth?: "trust" | "scram-sha-256";
  /** Roles created once the server is up (`postgres`, the superuser, always exists). */
  users?: readonly ClusterUser[];
  /** A primary for standbys; `synchronous`: every commit waits for one (replication.ts). */
  replication?: { synchronous?: boolean };
}

export interface Cluster {
  readonly port: number;
  /** Milliseconds from initdb to accepting connections, users created. */
  readonly startupMs: number;
  /** `postgres://user[:password]@host:port/database`; the password is percent-encoded. */
  url(
    user: string,
    password?: string,
    options?: { host?: "localhost" | "127.0.0.1"; database?: string },
  ): string;
  /** Runs `work` on a fresh superuser connection over the Unix socket (no TLS, no password). */
  admin<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T>;
  /** Serves `pair` to the connections that start after this resolves (reload, no restart). */
  useCertificate(pair: CertificatePair): Promise<void>;
  /** Stops the server as a crash would (`pg_ctl stop -m immediate`), keeping its folder. */
  kill(): Promise<void>;
  /** Stops the server and deletes its folder. Safe to call twice, and after `kill()`. */
  stop(): Promise<void>;
}

export interface Binaries {
  bin: string;
  /** Prefix that runs a command as the server's user: `runuser -u postgres --` as root. */
  asServerUser: string[];
  owner: { uid: number; gid: number } | undefined;
}

let found: Binaries | string | undefined;

/** The PostgreSQL binaries and the user to run them as, or why they can't be used here. */
export function binaries(): Binaries | string {
  found ??= findBinaries();
  return found;
}

function findBinaries(): Binaries | string {
  const has = (dir: string) => ["initdb", "pg_ctl"].every((name) => existsSync(join(dir, name)));
  // Debian and Ubuntu keep them off PATH, in one folder per major version: take the newest.
  const debian = "/usr/lib/postgresql";
  const versions = existsSync(debian)
    ? readdirSync(debian)
        .filter((version) => /^\d+$/.test(version))
        .sort((a, b) => Number(b) - Number(a))
        .map((version) => join(debian, version, "bin"))
    : [];
  const onPath = [...testEnv().path.split(delimiter), ...versions].find((dir) => dir && has(dir));
  if (!onPath)
    return "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql";
  // A symlink (/usr/local/bin/pg_ctl) leads to the version's folder, with pg_basebackup & co.
  const bin = dirname(realpathSync(join(onPath, "pg_ctl")));
  if (process.getuid?.() !== 0) return { bin, asServerUser: [], owner: undefined };
  try {
    const id = (flag: string) =>
      Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }));
    execFileSync("runuser", ["--help"], { stdio: "ignore" });
    return {
      bin,
      asServerUser: ["runuser", "-u", "postgres", "--"],
      owner: { uid: id("-u"), gid: id("-g") },
    };
  } catch {
    return "running as root, and PostgreSQL won't: no `postgres` user or no runuser to switch to it";
  }
}

/**
 * Why a private cluster (with `tls`: and certificates) can't be started here, for
 * `describe.skipIf`; undefined when it can. With CI=true a missing prerequisite throws instead,
 * so CI never passes by skipping.
 */
export function clusterUnavailable(options: { tls?: boolean } = {}): string | undefined {
  const found = binaries();
  let reason = typeof found === "string" ? found : undefined;
  if (!reason && options.tls && spawnSync("openssl", ["version"]).status !== 0) {
    reason = "no openssl command to make test certificates";
  }
  if (reason && testEnv().ci) throw new Error(`CI=true: a private cluster is required: ${reason}`);
  return reason && `skipped: ${reason}`;
}

/** `name` from the server binaries with `args`, run as the server's user. */
const command = (bin: Binaries, name: string, args: string[]) => [
  ...bin.asServerUser,
  join(bin.bin, name),
  ...args,
];

/** Clusters not yet stopped, for the exit handler. */
const running = new Set<{ dir: string; data: string; bin: Binaries }>();
let exitHandlerInstalled = false;

function stopAllSync() {
  for (const cluster of running) {
    const { bin, data, dir } = cluster;
    const [program = "", ...args] = command(bin, "pg_ctl", [
      ...["stop", "-D", data, "-m", "immediate", "-w", "-t", "10"],
    ]);
    spawnSync(program, args, { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
    running.delete(cluster);
  }
}

/** A cluster's temporary folder, owned by the server's user and removed by the exit handler. */
export type ClusterFolder = ReturnType<typeof newClusterFolder>;

/** A new, empty `ClusterFolder`, registered with the exit handler from now on. */
export function newClusterFolder() {
  const bin = binaries();
  if (typeof bin === "string") throw new Error(bin);
  if (!exitHandlerInstalled) {
    process.once("exit", stopAllSync);
    exitHandlerInstalled = true;
  }
  // Short: the Unix socket lives here too, and its path must fit in 107 bytes.
  const dir = mkdtempSync(join(tmpdir(), "pgc-"));
  const data = join(dir, "data");
  const entry = { dir, data, bin };
  running.add(entry);
  const own = (path: string) => bin.owner && chownSync(path, bin.owner.uid, bin.owner.gid);
  own(dir);
  const exec = (name: string, args: string[]) => {
    const [program = "", ...rest] = command(bin, name, args);
    return run(program, rest);
  };
  let certificates = 0;
  return {
    bin,
    dir,
    data,
    logFile: join(dir, "server.log"),
    /** Runs server binary `name` as the server's user. */
    exec,
    own,
    /** Copies a certificate and key where the server may read them: its own, key mode 0600. */
    install: (pair: CertificatePair) => {
      const target = {
        cert: join(dir, `${++certificates}.crt`),
        key: join(dir, `${certificates}.key`),
      };
      copyFileSync(pair.cert, target.cert);
      copyFileSync(pair.key, target.key);
      chmodSync(target.key, 0o600);
      own(target.cert);
      own(target.key);
      return target;
    },
    /** Stops the server (if it runs) and deletes the folder. Safe to call twice. */
    remove: async () => {
      if (!running.delete(entry)) return;
      try {
        await exec("pg_ctl", ["stop", "-D", data, "-m", "fast", "-w", "-t", "30"]);
      } catch {
        // Not running (it failed to start, died, or was killed): nothing to stop.
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Starts a new cluster; see the module comment. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const started = performance.now();
  const folder = newClusterFolder();
  const { dir, data } = folder;
  try {
    await folder.exec("initdb", [
      ...["-D", data, "-U", "postgres", "--auth=trust", "--no-sync"],
      ...["-E", "UTF8", "--locale=C"],
    ]);
    const settings: Record<string, string | number> = {
      listen_addresses: "127.0.0.1",
      unix_socket_directories: dir,
      fsync: "off",
      synchronous_commit: "off",
      full_page_writes: "off",
      shared_buffers: "16MB",
      max_connections: 20,
      wal_level: options.replication ? "replica" : "minimal",
      max_wal_senders: options.replication ? 5 : 0,
      password_encryption: "scram-sha-256",
    };
    if (options.replication?.synchronous) {
      // `on` waits for the standby to have flushed the WAL, not replayed it: a paused replay
      // (replication.ts) makes it lag without holding up commits, and a promotion replays
      // everything received before it accepts writes.
      Object.assign(settings, { synchronous_commit: "on", synchronous_standby_names: "*" });
    }
    if (options.ssl) {
      const { cert, key } = folder.install(options.ssl);
      Object.assign(settings, { ssl: "on", ssl_cert_file: cert, ssl_key_file: key });
      if (options.ssl.ca) {
        const ca = join(dir, "client-ca.crt");
        copyFileSync(options.ssl.ca, ca);
        folder.own(ca);
        settings.ssl_ca_file = ca;
      }
    }
    const conf = Object.entries(settings).map(([name, value]) => `${name} = '${value}'`);
    writeFileSync(join(data, "postgresql.conf"), `\n${conf.join("\n")}\n`, { flag: "a" });
    const tcp = (options.tlsOnly ?? options.ssl !== undefined) ? "hostssl" : "host";
    const hba = [
      "local all postgres trust", // the fixture's own connection, over the socket in `dir`
      `${tcp} all all 127.0.0.1/32 ${options.auth ?? "trust"}`,
      ...(options.replication ? ["host replication all 127.0.0.1/32 trust"] : []),
    ];
    writeFileSync(join(data, "pg_hba.conf"), `${hba.join("\n")}\n`);

    const port = await startOnFreePort(folder);
    const cluster = openCluster(folder, port, started);
    const users = options.users ?? [];
    if (users.length > 0) {
      await cluster.admin(async (sql) => {
        // A synchronous primary has no standby yet: a commit waiting for one would never return.
        await sql`set synchronous_commit = local`;
        for (const user of users) {
          await sql.unsafe(
            `create role ${identifier(user.name)} login${user.superuser ? " superuser" : ""}` +
              (user.password === undefined ? "" : ` password ${literal(user.password)}`),
          );
        }
      });
    }
    return { ...cluster, startupMs: Math.round(performance.now() - started) };
  } catch (error) {
    throw await startFailed(folder, error);
  }
}

/** Removes `folder` and returns an error with `cause` and the end of the server log. */
export async function startFailed(folder: ClusterFolder, cause: unknown): Promise<Error> {
  const log = existsSync(folder.logFile) ? readFileSync(folder.logFile, "utf8").slice(-2000) : "";
  await folder.remove();
  return new Error(`could not start a private cluster: ${String(cause)}\n${log}`, { cause });
}

/** The `Cluster` of a server running from `folder` on `port` since `started`. */
export function openCluster(folder: ClusterFolder, port: number, started: number): Cluster {
  const { dir, data, logFile } = folder;
  const admin = async <T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> => {
    const sql = postgres({
      host: dir,
      port,
      user: "postgres",
      database: "postgres",
      max: 1,
      onnotice: () => undefined,
    });
    try {
      return await work(sql);
    } finally {
      await sql.end({ timeout: 5 });
    }
  };
  return {
    port,
    startupMs: Math.round(performance.now() - started),
    url: (user, password, { host = "127.0.0.1", database = "postgres" } = {}) => {
      const secret = password === undefined ? "" : `:${encodeURIComponent(password)}`;
      return `postgres://${encodeURIComponent(user)}${secret}@${host}:${port}/${database}`;
    },
    admin,
    useCertificate: async (pair) => {
      const { cert, key } = folder.install(pair);
      await admin(async (sql) => {
        await sql.unsafe(`alter system set ssl_cert_file = ${literal(cert)}`);
        await sql.unsafe(`alter system set ssl_key_file = ${literal(key)}`);
        await sql`select pg_reload_conf()`;
      });
      // A new backend is forked from the postmaster with its settings of the moment, and the
      // postmaster reloads its TLS context together with them: once a new session sees the
      // new file, every later connection is served the new certificate.
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const [row] = await admin((sql) => sql`select current_setting('ssl_cert_file') as file`);
        if (row?.file === cert) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`the cluster did not reload its certificate: see ${logFile}`);
    },
    kill: async () => {
      // No pid file: never started, already killed or stopped.
      if (!existsSync(join(data, "postmaster.pid"))) return;
      await folder.exec("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w", "-t", "30"]);
    },
    stop: folder.remove,
  };
}

/**
 * Starts the server of `folder` on a free port and returns the port. A port that was free a
 * moment ago can be taken before the server binds it (other test processes pick ports too): on
 * "address in use" pick another, a few times.
 */
export async function startOnFreePort({ data, logFile, exec }: ClusterFolder): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const logSize = existsSync(logFile) ? statSync(logFile).size : 0;
    try {
      await exec("pg_ctl", [
        ...["start", "-D", data, "-l", logFile],
        ...["-w", "-t", "60", "-o", `-p ${port}`],
      ]);
      return port;
    } catch (error) {
      const log = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(logSize) : "";
      if (attempt >= 3 || !/could not bind|address already in use/i.test(log)) throw error;
    }
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", resolve);
  });
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no TCP port");
  return address.port;
}

export const identifier = (name: string) => `"${name.replaceAll('"', '""')}"`;
export const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
