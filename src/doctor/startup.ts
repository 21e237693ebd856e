/**
 * The connection budget, checked once when the server starts (the doctor's rule,
 * `judgeConnectionBudget`): APP_INSTANCES × (pool + metrics scrape) + migrator + admin against
 * the server's max_connections minus its reserved slots. Over budget, connections will be
 * refused at peak, with errors far from their cause; the warning names the arithmetic and the
 * fix where the operator looks first, the start-up log.
 *
 * Never delays or stops the start: it runs after the server listens, and a server that can't
 * be read (a role without pg_stat_activity rights, say) is logged at debug.
 *
 * @example
 * void checkConnectionBudgetAtStart(database, config, logger);
 */
import type { Database } from "../db/client.js";
import type { Config } from "../env.js";
import { readConnections } from "../inspect/queries.js";
import type { Logger } from "../logger.js";
import { judgeConnectionBudget, readServerSettings } from "./configuration.js";
import type { Finding } from "./report.js";

/** Resolves with the finding (undefined on PGlite or when the server could not be read). */
export async function checkConnectionBudgetAtStart(
  database: Database,
  config: Config,
  logger: Logger,
): Promise<Finding | undefined> {
  const { sql } = database;
  if (!sql) return undefined;
  let finding: Finding;
  try {
    const [connections, settings] = await Promise.all([
      readConnections(sql),
      readServerSettings(sql),
    ]);
    finding = judgeConnectionBudget(config, config.appInstances, connections, settings);
  } catch (error) {
    logger.debug({ err: error }, "connection budget not checked: the server could not be read");
    return undefined;
  }
  const fields = {
    check: finding.check,
    details: finding.details,
    APP_INSTANCES: config.appInstances,
  };
  if (finding.verdict === "fail") logger.error(fields, `connection budget: ${finding.summary}`);
  else if (finding.verdict === "warn") logger.warn(fields, `connection budget: ${finding.summary}`);
  else logger.debug(fields, `connection budget: ${finding.summary}`);
  return finding;
}
