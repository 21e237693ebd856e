/**
 * Shared bench plumbing: a scratch database created and dropped around the run, interleaved
 * repetitions (a noisy machine slows whichever method runs at that moment, so every round runs
 * every method, in a shuffled order), and medians.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { type DatabaseConfig, parseConfig } from "../src/env.js";
import { migrateDatabaseUrl } from "../src/migrator/migrate.js";

// biome-ignore lint/style/noProcessEnv: bench harness
const SERVER_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface Scratch {
  url: string;
  /** Database config for the scratch database, with `env` overrides. */
  config(env?: Record<string, string>): DatabaseConfig;
  drop(): Promise<void>;
}

/** A migrated, empty database of its own on the bench server. */
export async function createScratchDatabase(): Promise<Scratch> {
  const name = `bench_${randomBytes(4).toString("hex")}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database "${name}"`);
  const parsed = new URL(SERVER_URL);
  parsed.pathname = `/${name}`;
  const url = parsed.toString();
  const config = (env: Record<string, string> = {}) =>
    parseConfig({ DATABASE_URL: url, NODE_ENV: "production", LOG_LEVEL: "warn", ...env }).database;
  await migrateDatabaseUrl(config());
  return {
    url,
    config,
    drop: async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

/** Fisher-Yates on a copy. */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Runs every case once per round, in a new random order each round; returns ms per case. */
export async function interleaved<K extends string>(
  rounds: number,
  cases: Record<K, { before?: () => Promise<void>; run: () => Promise<void> }>,
): Promise<Record<K, number[]>> {
  const names = Object.keys(cases) as K[];
  const times = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<
    K,
    number[]
  >;
  for (let round = 1; round <= rounds; round++) {
    for (const name of shuffled(names)) {
      const { before, run } = cases[name];
      await before?.();
      const started = performance.now();
      await run();
      times[name].push(performance.now() - started);
    }
    process.stderr.write(`  round ${round}/${rounds} done\n`);
  }
  return times;
}

/** A Markdown table, ready for docs/data-layer.md. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export const fmt = (value: number, digits = 0) =>
  value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
