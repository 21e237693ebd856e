/**
 * `npm run plans:update`: explains every catalogued query (queries.ts) on the seeded template
 * and rewrites test/plans/budgets.json with today's plans and costs. Review the diff like code:
 * a changed access list is a changed plan, a higher cost a slower query. `tolerance` and
 * `largeTableRows` are kept as they are.
 *
 * Needs TEST_DATABASE_URL (a server it may create databases on), like the tests.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { testEnv } from "../../src/env.js";
import { formatTable } from "../../src/inspect/format.js";
import {
  BUDGETS_FILE,
  type BudgetFile,
  budgetOf,
  checkPlans,
  planQuery,
  readBudgets,
  tableRows,
  writeBudgets,
} from "./explain.js";
import { PLANNED_QUERIES } from "./queries.js";
import { readSample } from "./samples.js";
import { clonePlanTemplate, ensurePlanTemplate, PLAN_SEED } from "./seeded-template.js";

const DEFAULTS = { tolerance: 0.25, largeTableRows: 10_000 };

async function main(): Promise<number> {
  const adminUrl = testEnv().testDatabaseUrl;
  if (!adminUrl) {
    console.error(
      "plans:update: set TEST_DATABASE_URL to a PostgreSQL server it may create databases on",
    );
    return 2;
  }
  const previous: BudgetFile | undefined = existsSync(BUDGETS_FILE) ? readBudgets() : undefined;
  const template = await ensurePlanTemplate(adminUrl);
  const clone = await clonePlanTemplate(
    adminUrl,
    template,
    `plans_update_${randomBytes(4).toString("hex")}`,
  );
  try {
    const { database } = clone;
    const sql = database.sql;
    if (!sql) throw new Error("expected a postgres.js pool");
    const [version] = await sql<{ server: string }[]>`
      select 'PostgreSQL ' || split_part(current_setting('server_version'), ' ', 1) as server`;
    const sample = await readSample(database.db, 0.5);
    const rows = await tableRows(sql);
    const next: BudgetFile = {
      tolerance: previous?.tolerance ?? DEFAULTS.tolerance,
      largeTableRows: previous?.largeTableRows ?? DEFAULTS.largeTableRows,
      recordedOn: { server: version?.server ?? "PostgreSQL", ...PLAN_SEED },
      queries: {},
    };
    const lines: string[][] = [];
    const problems: string[] = [];
    for (const query of PLANNED_QUERIES) {
      const plans = await planQuery(database, query, sample);
      next.queries[query.name] = budgetOf(plans);
      const before = previous?.queries[query.name];
      const planChanged =
        before !== undefined &&
        JSON.stringify(before.map((b) => b.access)) !== JSON.stringify(plans.map((p) => p.access));
      lines.push([
        query.name,
        String(plans.length),
        before ? before.map((b) => b.cost.toFixed(2)).join(" ") : "(new)",
        plans.map((p) => p.cost.toFixed(2)).join(" "),
        planChanged ? "plan changed" : "",
      ]);
      // What the new budget can't excuse: a sequential scan of a large table.
      for (const problem of checkPlans(query, plans, next, rows)) {
        problems.push(`${query.name}: ${problem}`);
      }
    }
    writeBudgets(next);
    console.log(
      formatTable(
        [
          { header: "query" },
          { header: "statements", align: "right" },
          { header: "cost before" },
          { header: "cost now" },
          { header: "" },
        ],
        lines,
      ),
    );
    console.log(`\nwrote ${BUDGETS_FILE} (${next.recordedOn.server}); review the diff`);
    if (problems.length > 0) {
      console.error(`\nstill failing, whatever the budget:\n  ${problems.join("\n  ")}`);
      return 1;
    }
    return 0;
  } finally {
    await clone.drop();
  }
}

process.exitCode = await main().catch((error: unknown) => {
  console.error(`plans:update: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
});
