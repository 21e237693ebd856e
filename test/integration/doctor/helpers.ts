/**
 * Helpers for the `db:doctor` tests: the doctor in-process on a database URL, polling until the
 * statistics it reads have caught up with what a test planted, tables to plant problems in, and
 * the CLI as a child process. Scratch databases and sessions come from the db:inspect helpers.
 */
import type postgres from "postgres";
import { type DoctorReport, type Finding, runDoctor } from "../../../src/doctor/index.js";
import { parseConfig } from "../../../src/env.js";
import { connectForInspection } from "../../../src/inspect/index.js";

export type { CliResult } from "../../setup/run-cli.js";

import { runEntry } from "../../setup/run-cli.js";

/** The doctor on `url`, as `npm run db:doctor` runs it, without a process. */
export async function doctorOn(
  url: string,
  run: { instances?: number; longSeconds?: number } = {},
): Promise<DoctorReport> {
  const config = parseConfig({ DATABASE_URL: url, NODE_ENV: "test" });
  const sql = connectForInspection(config.database, "doctor");
  try {
    return await runDoctor(sql, config, { instances: 1, longSeconds: 60, ...run });
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export function findingOf(report: DoctorReport, check: string): Finding {
  const found = report.findings.filter((finding) => finding.check === check);
  if (found.length !== 1) throw new Error(`expected one "${check}" finding, got ${found.length}`);
  return found[0] as Finding;
}

/**
 * Runs the doctor until `check`'s finding satisfies `done`: table and index statistics reach
 * the views a moment after the transaction that caused them (PostgreSQL 15+ flushes a session's
 * counters at most once a second). Returns the finding; on timeout, throws with the last one.
 */
export async function eventually(
  url: string,
  check: string,
  done: (finding: Finding) => boolean,
  run: { instances?: number; longSeconds?: number } = {},
  timeoutMs = 15_000,
): Promise<Finding> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const finding = findingOf(await doctorOn(url, run), check);
    if (done(finding)) return finding;
    if (Date.now() > deadline) {
      throw new Error(`"${check}" never reached the expected state: ${JSON.stringify(finding)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A table of `rows` rows: `id` primary key, `v` with 1,000 distinct values, no other index. */
export async function plantTable(
  sql: postgres.Sql,
  name: string,
  rows: number,
  options: { autovacuum?: boolean } = {},
) {
  const storage = options.autovacuum === false ? " with (autovacuum_enabled = false)" : "";
  await sql.unsafe(`create table ${name} (id int primary key, v int not null)${storage}`);
  await sql.unsafe(`insert into ${name} select g, g % 1000 from generate_series(1, ${rows}) g`);
}

/** Asks the session to publish its statistics counters now (PostgreSQL 15+; a no-op before). */
export async function flushStatistics(sql: postgres.Sql) {
  await sql`select pg_stat_force_next_flush()`.catch(() => undefined);
}

/** `src/cli/doctor.ts` in a child process (through tsx), with only the environment given. */
export const runDoctorCli = (args: readonly string[], env: Record<string, string>) =>
  runEntry("src/cli/doctor.ts", args, env);
