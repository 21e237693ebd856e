/** Helpers shared by the observability tests: reading the text format, a hand-fed database. */
import type { DatabaseListener, PoolStats } from "../../../src/db/events.js";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text-format body (enough of the format for our own output). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const [, name = "", rawLabels = "", value = ""] = match;
    const labels: Record<string, string> = {};
    for (const [, key = "", raw = ""] of rawLabels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key] = raw.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    samples.push({ name, labels, value: Number(value) });
  }
  return samples;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined if none. */
export function sampleValue(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match`);
  return found[0]?.value;
}

/** Every sample of `name` (one per series). */
export const seriesOf = (samples: Sample[], name: string) => samples.filter((s) => s.name === name);

const IDLE_POOL: PoolStats = {
  driver: "postgres",
  max: 10,
  open: 0,
  idle: 0,
  inUse: 0,
  inFlight: 0,
  waiting: 0,
  longestWaitMs: 0,
  opened: 0,
  closed: 0,
  failed: 0,
  timeouts: 0,
};

/** A database that emits what the test tells it to, with a pool snapshot it can change. */
export function fakeDatabase(pool: Partial<PoolStats> = {}) {
  const listeners = new Set<DatabaseListener>();
  let stats: PoolStats = { ...IDLE_POOL, ...pool };
  return {
    driver: "postgres" as const,
    pglite: undefined,
    listen(listener: DatabaseListener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    poolStats: () => stats,
    setPool(changes: Partial<PoolStats>) {
      stats = { ...stats, ...changes };
    },
    get listeners() {
      return listeners.size;
    },
    emit<K extends keyof DatabaseListener>(
      kind: K,
      event: Parameters<NonNullable<DatabaseListener[K]>>[0],
    ) {
      for (const listener of listeners) {
        (listener[kind] as ((e: typeof event) => void) | undefined)?.(event);
      }
    },
  };
}

/** A driver error as postgres.js raises it: a SQLSTATE and a severity. */
export const driverError = (code: string) =>
  Object.assign(new Error(`server error ${code}`), { code, severity: "ERROR" });
