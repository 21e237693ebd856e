/**
 * Read replicas (`DATABASE_REPLICA_URLS`): which server each read goes to, and the watch that
 * decides it. `createDatabase` hands Drizzle's `withReplicas` a `pick` of this router, so
 * `db.select()`, `db.$count`, `db.with()` and `db.query.*` go to a replica, while `insert`,
 * `update`, `delete`, `execute` and every transaction go to the primary, as Drizzle documents.
 *
 * Rules, each proven against a real streaming standby (test/integration/replication):
 * - **Read-your-writes.** Every write this process saw complete on the primary (a statement
 *   outside a transaction that is not a read, or a committed transaction) makes reads go to the
 *   primary until the primary's WAL position after it (`pg_current_wal_lsn()`) is known; from then
 *   on a replica serves reads only once its replay position (`pg_last_wal_replay_lsn()`) has
 *   reached that position. So a client that got a 201 sees its row in its next request, whichever
 *   replica the read would have gone to. The guarantee is per process: behind a load balancer,
 *   another instance knows nothing of this one's writes (docs/scaling.md).
 * - **Lag.** Every `DATABASE_REPLICA_CHECK_MS` the primary's WAL position and each replica's replay
 *   position are read; a replica's lag is how long ago the primary first stood at a position the
 *   replica has not replayed yet (0 when it has replayed everything), and the bytes between them.
 * - **Rotation.** A replica is taken out when it is further behind than
 *   `DATABASE_REPLICA_MAX_LAG_MS`, when its check fails or times out, when a query on it fails
 *   to reach it (at once, without waiting for the next check), or when it is no longer a standby
 *   (promoted); the first check that finds it healthy puts it back. With none in rotation, reads
 *   go to the primary.
 *
 * Checks use the pools' own connections but bypass the pool gate, the query log and the
 * metrics, like health checks: they are not application traffic.
 */
import type postgres from "postgres";
import type { Logger } from "../logger.js";
import type { AppDatabase } from "./client.js";
import { ConnectionError, mapDatabaseError } from "./errors.js";
import type { DatabaseListener, QueryEvent, TransactionEvent } from "./events.js";
import { boundedQuery } from "./health.js";

export type OutOfRotation = "starting" | "lagging" | "unreachable" | "not a standby";

export interface ReplicaStatus {
  /** `host:port`, as in `QueryEvent.replica`, logs and metric labels. */
  readonly name: string;
  readonly inRotation: boolean;
  /** Why it is out of rotation; undefined while in. */
  readonly reason: OutOfRotation | undefined;
  /** Seconds the replica is behind the primary; null before its first successful check. */
  readonly lagSeconds: number | null;
  /** WAL bytes between the primary's position and the replica's replay position. */
  readonly lagBytes: number | null;
  /** The replay position at the last successful check (`0/3000148`). */
  readonly replayLsn: string | null;
}

export interface ReplicaRoutingStats {
  readonly replicas: readonly ReplicaStatus[];
  /** Reads routed since start: to a replica, or to the primary (none in rotation, or caught up). */
  readonly reads: { readonly replica: number; readonly primary: number };
  /**
   * The primary's position after this process's last covered write: a replica serves reads once
   * its replay has reached it. `pendingWrites`: writes seen since, not yet covered by a check.
   */
  readonly watermarkLsn: string;
  readonly pendingWrites: number;
}

export interface ReplicaTarget {
  readonly name: string;
  readonly db: AppDatabase;
  readonly sql: postgres.Sql;
}

export interface ReplicaRouterOptions {
  primary: { db: AppDatabase; sql: postgres.Sql };
  replicas: readonly ReplicaTarget[];
  maxLagMs: number;
  checkMs: number;
  logger?: Logger | undefined;
}

interface Replica extends ReplicaTarget {
  reason: OutOfRotation | undefined;
  replay: bigint | undefined;
  lagSeconds: number | null;
  lagBytes: number | null;
}

/** A WAL position (`pg_lsn` text, `16/B374D848`) as a number of bytes. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(text);
  if (!match) throw new TypeError(`not a WAL position: ${text}`);
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`);
}

/** A statement that only reads: the rest, outside a transaction, counts as a write. */
const READ_ONLY = /^(?:\s|\()*(?:select|show|explain|values|fetch)\b/i;
export const isReadOnlyStatement = (sql: string) => READ_ONLY.test(sql);

export class ReplicaRouter {
  readonly primary: AppDatabase;
  readonly #primarySql: postgres.Sql;
  readonly #replicas: Replica[];
  readonly #options: ReplicaRouterOptions;
  /**
   * Writes seen complete, and how many of them the watermark covers. Starts at one: what the
   * primary held when this process started (a migration just applied, say) counts as written.
   */
  #writes = 1;
  #covered = 0;
  /** The primary's WAL position after the last covered write. */
  #watermark = 0n;
  /** The primary's position over time, for lag in seconds: oldest first. */
  #history: { at: number; lsn: bigint }[] = [];
  #next = 0;
  #reads = { replica: 0, primary: 0 };
  #checking: Promise<void> | undefined;
  #again = false;
  #soon = false;
  #lastCheck = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ReplicaRouterOptions) {
    this.#options = options;
    this.primary = options.primary.db;
    this.#primarySql = options.primary.sql;
    this.#replicas = options.replicas.map((target) => ({
      ...target,
      reason: "starting",
      replay: undefined,
      lagSeconds: null,
      lagBytes: null,
    }));
  }

  /** Checks now and then every `checkMs`; resolves after the first check. */
  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.check(), this.#options.checkMs);
    this.#timer.unref();
    await this.check();
  }

  /** The database a read should go to now (Drizzle's `withReplicas` asks once per query). */
  pick(): AppDatabase {
    if (this.#writes !== this.#covered) {
      this.#checkSoon();
      return this.#toPrimary();
    }
    const count = this.#replicas.length;
    for (let tried = 0; tried < count; tried++) {
      const replica = this.#replicas[(this.#next + tried) % count] as Replica;
      if (replica.reason === undefined && (replica.replay ?? -1n) >= this.#watermark) {
        this.#next = (this.#next + tried + 1) % count;
        this.#reads.replica++;
        return replica.db;
      }
    }
    // Behind this process's last write, or out of rotation: a check will tell when it caught up.
    if (this.#replicas.some((r) => r.reason === undefined)) this.#checkSoon();
    return this.#toPrimary();
  }

  /** Counts writes (for read-your-writes) and takes an unreachable replica out at once. */
  readonly listener: DatabaseListener = {
    query: (event: QueryEvent) => {
      if (event.replica === undefined) {
        if (!event.inTransaction && !READ_ONLY.test(event.sql)) this.#writes++;
      } else if (event.error !== undefined) {
        this.#failedQuery(event.replica, event.error);
      }
    },
    transaction: (event: TransactionEvent) => {
      if (event.outcome === "commit" && !event.savepoint) this.#writes++;
    },
  };

  stats(): ReplicaRoutingStats {
    return {
      replicas: this.#replicas.map((r) => ({
        name: r.name,
        inRotation: r.reason === undefined,
        reason: r.reason,
        lagSeconds: r.lagSeconds,
        lagBytes: r.lagBytes,
        replayLsn: r.replay === undefined ? null : formatLsn(r.replay),
      })),
      reads: { ...this.#reads },
      watermarkLsn: formatLsn(this.#watermark),
      pendingWrites: this.#writes - this.#covered,
    };
  }

  /** Stops the checks (the pools are closed by their owner, `createDatabase`). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#checking;
  }

  /**
   * One check of the primary and every replica; a check requested while one runs runs right
   * after it, so a write is always covered by a check that started after the write completed.
   */
  check(): Promise<void> {
    if (this.#checking) {
      this.#again = true;
      return this.#checking;
    }
    this.#checking = this.#checkOnce().finally(() => {
      this.#checking = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        void this.check();
      }
    });
    return this.#checking;
  }

  #toPrimary(): AppDatabase {
    this.#reads.primary++;
    return this.primary;
  }

  /** A check for a waiting read, at most ten times per `checkMs` however many reads wait. */
  #checkSoon() {
    // A check under way may have started before the write: the next read asks again.
    if (this.#closed || this.#checking || this.#soon) return;
    const wait = this.#lastCheck + this.#options.checkMs / 10 - performance.now();
    if (wait <= 0) {
      void this.check();
      return;
    }
    this.#soon = true;
    setTimeout(() => {
      this.#soon = false;
      void this.check();
    }, wait).unref();
  }

  async #checkOnce(): Promise<void> {
    if (this.#closed) return;
    this.#lastCheck = performance.now();
    const writes = this.#writes;
    // A new connection (TCP, TLS, authentication) must fit too, on a busy machine.
    const timeoutMs = Math.max(2_000, this.#options.checkMs);
    const [primary, ...replicas] = await Promise.allSettled([
      boundedQuery<{ lsn: string }>(
        this.#primarySql,
        "select pg_current_wal_lsn()::text as lsn",
        timeoutMs,
      ),
      ...this.#replicas.map((r) =>
        boundedQuery<{ standby: boolean; lsn: string | null }>(
          r.sql,
          "select pg_is_in_recovery() as standby, pg_last_wal_replay_lsn()::text as lsn",
          timeoutMs,
        ),
      ),
    ]);
    const at = performance.now();
    let primaryLsn: bigint | undefined;
    if (primary?.status === "fulfilled" && primary.value[0]) {
      primaryLsn = parseLsn(primary.value[0].lsn);
      this.#remember(at, primaryLsn);
      // The position read after `writes` writes had completed is at or past each of them.
      if (writes > this.#covered) {
        this.#covered = writes;
        this.#watermark = primaryLsn;
      }
    }
    for (const [index, result] of replicas.entries()) {
      this.#update(this.#replicas[index] as Replica, result, primaryLsn, at);
    }
  }

  #update(
    replica: Replica,
    result: PromiseSettledResult<{ standby: boolean; lsn: string | null }[]>,
    primaryLsn: bigint | undefined,
    at: number,
  ) {
    const row = result.status === "fulfilled" ? result.value[0] : undefined;
    if (!row) return this.#setReason(replica, "unreachable", result);
    if (!row.standby || row.lsn === null) return this.#setReason(replica, "not a standby");
    replica.replay = parseLsn(row.lsn);
    if (primaryLsn !== undefined) {
      replica.lagBytes = Number(primaryLsn > replica.replay ? primaryLsn - replica.replay : 0n);
      replica.lagSeconds = this.#lagSeconds(replica.replay, at);
    }
    const lagging = (replica.lagSeconds ?? 0) * 1000 > this.#options.maxLagMs;
    this.#setReason(replica, lagging ? "lagging" : undefined);
  }

  #remember(at: number, lsn: bigint) {
    const keepMs = Math.max(this.#options.maxLagMs * 2, this.#options.checkMs * 10);
    const last = this.#history.at(-1);
    // Only where the position moved: the oldest sample past a replica's replay is what counts.
    if (!last || last.lsn !== lsn) this.#history.push({ at, lsn });
    while (this.#history.length > 1 && (this.#history[0]?.at ?? at) < at - keepMs) {
      this.#history.shift();
    }
  }

  /** Since when the primary has stood past `replay`: the replica's staleness, at least. */
  #lagSeconds(replay: bigint, now: number): number {
    const firstAhead = this.#history.find((sample) => sample.lsn > replay);
    return firstAhead ? Math.round(now - firstAhead.at) / 1000 : 0;
  }

  #failedQuery(name: string, error: unknown) {
    if (!(mapDatabaseError(error) instanceof ConnectionError)) return;
    const replica = this.#replicas.find((r) => r.name === name);
    if (replica && replica.reason === undefined) {
      this.#setReason(replica, "unreachable", { status: "rejected", reason: error });
    }
  }

  #setReason(
    replica: Replica,
    reason: OutOfRotation | undefined,
    result?: PromiseSettledResult<unknown>,
  ) {
    if (replica.reason === reason) return;
    replica.reason = reason;
    const logger = this.#options.logger;
    if (reason === undefined) {
      logger?.info(
        { replica: replica.name, lagSeconds: replica.lagSeconds },
        "replica in rotation",
      );
    } else {
      const err = result?.status === "rejected" ? result.reason : undefined;
      logger?.warn(
        { replica: replica.name, reason, lagSeconds: replica.lagSeconds, err },
        "replica out of rotation: reads go to the other replicas or the primary",
      );
    }
  }
}

const formatLsn = (lsn: bigint) =>
  `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;

const routers = new WeakMap<object, ReplicaRouter>();

/** Ties a replicated Drizzle instance to its router (createDatabase, once). */
export function registerRouter(db: object, router: ReplicaRouter) {
  routers.set(db, router);
}

/**
 * Where a read on `db` goes right now: a replica, or the primary; `db` itself when it has no
 * replicas. For what Drizzle's `withReplicas` doesn't route per query, such as prepared
 * statements (statements.ts).
 */
export const readTarget = (db: AppDatabase): AppDatabase => routers.get(db)?.pick() ?? db;

/**
 * The primary behind `db` (`db` itself without replicas): for a read that decides a write, such
 * as looking up what an idempotency key already produced, which must not see a replica's past.
 */
export const primaryOf = (db: AppDatabase): AppDatabase => routers.get(db)?.primary ?? db;
