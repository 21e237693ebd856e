/**
 * `db:inspect`: what the server is doing right now, read from its statistics views. Each
 * command gives a report object (the `--json` output) and its readable text.
 */
import type postgres from "postgres";
import type { InspectOptions } from "./args.js";
import { readCache, readConnections, readLockWaits, readLongSessions } from "./queries.js";
import { renderCache, renderConnections, renderLocks, renderLong, renderTop } from "./render.js";
import { readTopStatements } from "./statements.js";

export { INSPECT_COMMANDS, parseInspectArgs, USAGE, UsageError } from "./args.js";
export { connectForInspection } from "./connection.js";
export { StatementsUnavailableError } from "./statements.js";

export interface Inspection {
  /** The report as data: what `--json` prints. */
  report: Record<string, unknown>;
  text: string;
}

/** Runs one command on `sql`. Throws `StatementsUnavailableError` for `top` where it can't run. */
export async function inspect(sql: postgres.Sql, options: InspectOptions): Promise<Inspection> {
  switch (options.command) {
    case "connections": {
      const report = await readConnections(sql);
      return { report: { ...report }, text: renderConnections(report) };
    }
    case "locks": {
      const waits = await readLockWaits(sql);
      return { report: { waits }, text: renderLocks(waits) };
    }
    case "long": {
      const sessions = await readLongSessions(sql, options.minSeconds);
      return {
        report: { minSeconds: options.minSeconds, sessions },
        text: renderLong(sessions, options.minSeconds),
      };
    }
    case "cache": {
      const report = await readCache(sql, options.limit);
      return { report: { ...report }, text: renderCache(report) };
    }
    case "top": {
      const statements = await readTopStatements(sql, options.limit);
      return { report: { statements }, text: renderTop(statements) };
    }
  }
}
