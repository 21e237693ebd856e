/**
 * `db:doctor`: a health report of the database in DATABASE_URL and of this process's
 * configuration, one verdict per check (docs/performance.md, "Database doctor").
 *
 * A check that the server refuses to answer (a missing privilege, an older server) becomes a
 * `skip` line with the server's reason; losing the connection aborts the whole run.
 *
 * @example
 * const sql = connectForInspection(config.database, "doctor");
 * const report = await runDoctor(sql, config, { instances: 3, longSeconds: 60 });
 * console.log(renderReport(report));
 */
import postgres from "postgres";
import { type Config, redactUrl } from "../env.js";
import { readCache, readConnections, readLongSessions } from "../inspect/queries.js";
import { readTopStatements, StatementsUnavailableError } from "../inspect/statements.js";
import {
  judgeCache,
  judgeDeadRows,
  judgeLongSessions,
  judgeSequentialScans,
  judgeTopStatements,
  readBlockReads,
  readStatementCount,
  readTableActivity,
} from "./activity.js";
import {
  judgeConnectionBudget,
  judgeIdleInTransactionTimeout,
  judgePoolTimeouts,
  judgeStatementTimeout,
  judgeTls,
  readServerSettings,
} from "./configuration.js";
import {
  judgeDuplicates,
  judgeForeignKeys,
  judgeRedundant,
  judgeUnused,
  readForeignKeys,
  readIndexes,
  readStatsSince,
} from "./indexes.js";
import { type DoctorReport, type Finding, skipped } from "./report.js";
import { THRESHOLDS } from "./thresholds.js";

export { DOCTOR_USAGE, type DoctorOptions, parseDoctorArgs, UsageError } from "./args.js";
export {
  countVerdicts,
  type DoctorReport,
  type Finding,
  renderReport,
  reportJson,
  type Verdict,
} from "./report.js";

export interface DoctorRun {
  /** App processes sharing the server (the connection budget). */
  instances: number;
  /** Transactions open longer than this are reported. */
  longSeconds: number;
}

/** Runs every check on `sql` (one connection to the database in `config`). */
export async function runDoctor(
  sql: postgres.Sql,
  config: Config,
  run: DoctorRun,
): Promise<DoctorReport> {
  // First read: if the server can't be reached or read at all, the caller hears of it.
  const settings = await readServerSettings(sql);
  const [current] = await sql<{ name: string }[]>`select current_database() as name`;
  const findings: Finding[] = [];
  /** Runs `work`; a server-side refusal becomes `skip` lines for `checks`. */
  const check = async (checks: readonly string[], work: () => Promise<Finding[]>) => {
    try {
      findings.push(...(await work()));
    } catch (error) {
      if (!(error instanceof postgres.PostgresError)) throw error;
      findings.push(...checks.map((name) => skipped(name, error)));
    }
  };

  await check(["foreign keys"], async () => [judgeForeignKeys(await readForeignKeys(sql))]);
  await check(["duplicate indexes", "redundant indexes", "unused indexes"], async () => {
    const indexes = await readIndexes(sql);
    return [
      judgeDuplicates(indexes),
      judgeRedundant(indexes),
      judgeUnused(indexes, await readStatsSince(sql)),
    ];
  });
  await check(["sequential scans", "dead rows"], async () => {
    const tables = await readTableActivity(sql);
    return [judgeSequentialScans(tables), judgeDeadRows(tables)];
  });
  await check(["cache hit ratio"], async () => [
    judgeCache(await readCache(sql, 1), await readBlockReads(sql)),
  ]);
  await check(["long transactions"], async () => {
    // Only this database's: since PostgreSQL 14 a transaction holds back vacuum in its own
    // database, and the other databases have their own doctor runs.
    const sessions = await readLongSessions(sql, run.longSeconds);
    return [
      judgeLongSessions(
        sessions.filter((session) => session.database === current?.name),
        run.longSeconds,
      ),
    ];
  });
  await check(["connection budget"], async () => [
    judgeConnectionBudget(config, run.instances, await readConnections(sql), settings),
  ]);
  findings.push(
    judgeStatementTimeout(config, settings),
    judgeIdleInTransactionTimeout(settings),
    judgePoolTimeouts(config),
    judgeTls(config, settings),
  );
  await check(["top queries"], async () => {
    try {
      const top = await readTopStatements(sql, THRESHOLDS.topStatements);
      return [judgeTopStatements(top, await readStatementCount(sql))];
    } catch (error) {
      if (!(error instanceof StatementsUnavailableError)) throw error;
      return [judgeTopStatements({ unavailable: error.message })];
    }
  });

  return { target: redactUrl(config.database.url), server: settings.version, findings };
}
