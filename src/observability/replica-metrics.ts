/**
 * Read replicas' metrics (`DATABASE_REPLICA_URLS`, src/db/replicas.ts), read from
 * `database.replicaStats()` when Prometheus scrapes: each replica's lag in seconds and bytes,
 * whether it is in rotation, and where reads went. Without replicas they have no series. The
 * `replica` label is a configured `host:port`, so it is bounded by the configuration.
 *
 * @example
 * registerReplicaMetrics(registry, database);
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { ReplicaRoutingStats } from "../db/replicas.js";
import { METRICS } from "./metric-names.js";

/** What these metrics need of a `Database` (src/db/client.ts). */
export interface ObservedReplicas {
  replicaStats?(): ReplicaRoutingStats | undefined;
}

export function registerReplicaMetrics(registry: Registry, database: ObservedReplicas) {
  const registers = [registry];
  const perReplica = (name: string, help: string, read: (r: ReplicaStatus) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ["replica"],
      registers,
      collect() {
        this.reset();
        for (const replica of database.replicaStats?.()?.replicas ?? []) {
          const value = read(replica);
          if (value !== null) this.set({ replica: replica.name }, value);
        }
      },
    });
  perReplica(
    METRICS.replicaLagSeconds,
    "How long ago the primary first stood at a WAL position the replica has not replayed yet",
    (r) => r.lagSeconds,
  );
  perReplica(
    METRICS.replicaLagBytes,
    "WAL bytes between the primary's position and the replica's replay position",
    (r) => r.lagBytes,
  );
  perReplica(
    METRICS.replicaInRotation,
    "1 while the replica serves reads; 0 when lagging, unreachable or no longer a standby",
    (r) => (r.inRotation ? 1 : 0),
  );
  const reported = { replica: 0, primary: 0 };
  new Counter({
    name: METRICS.replicaReads,
    help: "Reads routed to a replica, or to the primary (replicas behind this process's writes)",
    labelNames: ["target"],
    registers,
    collect() {
      const reads = database.replicaStats?.()?.reads;
      if (!reads) return;
      for (const target of ["replica", "primary"] as const) {
        this.inc({ target }, reads[target] - reported[target]);
        reported[target] = reads[target];
      }
    },
  });
}

type ReplicaStatus = ReplicaRoutingStats["replicas"][number];
