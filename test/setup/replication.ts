/**
 * A primary with a streaming standby, each a private cluster (cluster.ts), for tests of what
 * replication changes: failover (kill the primary, promote the standby), replica lag, reads
 * from a standby.
 *
 * The standby is a `pg_basebackup -R -X stream` copy of the primary, so it has the primary's fast
 * settings (fsync off, ...) and follows it over TCP; `startReplicatedPair` returns once the
 * primary reports it streaming (and, with `synchronous`, as its synchronous standby). Both
 * clusters are removed by `stop()`, or by the exit handler when a test fails first.
 *
 * @example
 * const unavailable = replicationUnavailable();
 * describe.skipIf(unavailable)(`... ${unavailable ?? ""}`, () => {
 *   let pair: { primary: Cluster; standby: Standby };
 *   beforeAll(async () => {
 *     pair = await startReplicatedPair({ synchronous: true });
 *   });
 *   afterAll(() => Promise.all([pair?.standby.stop(), pair?.primary.stop()]));
 *   it("fails over", async () => {
 *     await pair.primary.kill();
 *     await pair.standby.promote();
 *   });
 * });
 */
import { existsSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { testEnv } from "../../src/env.js";
import {
  binaries,
  type Cluster,
  clusterUnavailable,
  newClusterFolder,
  openCluster,
  startCluster,
  startFailed,
  startOnFreePort,
} from "./cluster.js";

export interface Standby extends Cluster {
  /**
   * Ends recovery (`pg_ctl promote`): resolves once the server accepts writes. It replays the
   * WAL it has received first, even while replay is paused.
   */
  promote(): Promise<void>;
  /** Stops applying WAL (it keeps receiving it): reads see the primary's past until resumed. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** The last WAL position applied, e.g. `0/3000148` (`pg_last_wal_replay_lsn()`). */
  replayLsn(): Promise<string>;
  /**
   * Starts the server again after `kill()`, on the same port so URLs stay valid; resolves once it
   * accepts connections (it reconnects to its primary by itself, if that is up).
   */
  start(): Promise<void>;
}

/**
 * Why a primary with a standby can't be started here, for `describe.skipIf`; undefined when it
 * can. Needs what `clusterUnavailable` needs, and pg_basebackup. With CI=true a missing
 * prerequisite throws instead, so CI never passes by skipping.
 */
export function replicationUnavailable(): string | undefined {
  const reason = clusterUnavailable();
  if (reason) return reason;
  const bin = binaries();
  if (typeof bin === "string" || existsSync(join(bin.bin, "pg_basebackup"))) return undefined;
  const missing = `no pg_basebackup next to initdb in ${bin.bin}`;
  if (testEnv().ci) throw new Error(`CI=true: replication tests are required: ${missing}`);
  return `skipped: ${missing}`;
}

/**
 * Starts a primary and a standby streaming from it; see the module comment. `synchronous`: a
 * commit returns once the standby has flushed its WAL (`synchronous_commit=on`, not
 * `remote_apply`), so no acknowledged commit is lost when the primary dies, and a paused replay
 * makes the standby lag without holding up commits.
 */
export async function startReplicatedPair(
  options: { synchronous?: boolean } = {},
): Promise<{ primary: Cluster; standby: Standby }> {
  const synchronous = options.synchronous ?? false;
  const primary = await startCluster({ replication: { synchronous } });
  try {
    return { primary, standby: await startStandby(primary, synchronous) };
  } catch (error) {
    await primary.stop();
    throw error;
  }
}

async function startStandby(primary: Cluster, synchronous: boolean): Promise<Standby> {
  const started = performance.now();
  const folder = newClusterFolder();
  const { dir, data } = folder;
  // The name the primary lists it under (pg_stat_replication.application_name).
  const name = basename(dir).replace(/\W/g, "_");
  try {
    await folder.exec("pg_basebackup", [
      ...["-h", "127.0.0.1", "-p", String(primary.port), "-U", "postgres", "-D", data],
      // -R: standby.signal and primary_conninfo; a fast checkpoint, or the copy waits for one.
      ...["-R", "-X", "stream", "--checkpoint=fast", "--no-sync"],
    ]);
    const settings = {
      // The copied postgresql.conf names the primary's folder.
      unix_socket_directories: dir,
      cluster_name: name,
      hot_standby: "on",
      // Once promoted, it has no standby of its own: a commit waiting for one would never return.
      synchronous_standby_names: "",
    };
    const conf = Object.entries(settings).map(([key, value]) => `${key} = '${value}'`);
    writeFileSync(join(data, "postgresql.conf"), `\n${conf.join("\n")}\n`, { flag: "a" });
    const port = await startOnFreePort(folder);
    const cluster = openCluster(folder, port, started);
    await waitForStreaming(primary, name, synchronous);
    const one = async <T>(query: string) => {
      const [row] = await cluster.admin((sql) => sql.unsafe<T[]>(query));
      if (!row) throw new Error(`no row from ${query}`);
      return row;
    };
    return {
      ...cluster,
      startupMs: Math.round(performance.now() - started),
      promote: async () => {
        await folder.exec("pg_ctl", ["promote", "-D", data, "-w", "-t", "60"]);
        await poll("the standby to leave recovery", async () => {
          const row = await one<{ recovery: boolean }>("select pg_is_in_recovery() as recovery");
          return !row.recovery;
        });
      },
      pauseReplay: async () => {
        await one("select pg_wal_replay_pause()");
        // That only asks; the startup process pauses at its next check (PostgreSQL 14+).
        await poll("replay to pause", async () => {
          const row = await one<{ state: string }>(
            "select pg_get_wal_replay_pause_state() as state",
          );
          return row.state === "paused";
        });
      },
      resumeReplay: async () => {
        await one("select pg_wal_replay_resume()");
      },
      replayLsn: async () => {
        const row = await one<{ lsn: string }>("select pg_last_wal_replay_lsn()::text as lsn");
        return row.lsn;
      },
      start: async () => {
        await folder.exec("pg_ctl", [
          ...["start", "-D", data, "-l", folder.logFile],
          ...["-w", "-t", "60", "-o", `-p ${port}`],
        ]);
      },
    };
  } catch (error) {
    throw await startFailed(folder, error);
  }
}

/** Until the primary streams to standby `name` (and counts it as synchronous, if asked). */
async function waitForStreaming(primary: Cluster, name: string, synchronous: boolean) {
  await poll(`the primary to stream to ${name}`, () =>
    primary.admin(async (sql) => {
      const [row] = await sql<{ state: string; sync: string }[]>`
        select state, sync_state as sync from pg_stat_replication where application_name = ${name}`;
      return row?.state === "streaming" && (!synchronous || row.sync === "sync");
    }),
  );
}

async function poll(what: string, done: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
