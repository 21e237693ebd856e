/**
 * Query plan regressions: every catalogued query (queries.ts), run through its repository code
 * on a database seeded at realistic size, explained and held to its budget (budgets.json). A
 * sequential scan of a large table, a plan reaching a table through another index than the
 * one recorded, or an estimated cost over budget + tolerance fails its test.
 *
 * The seeded database is a template kept on the server (seeded-template.ts): built once per
 * migrations + seed version, cloned for each run. On PGlite these tests are skipped: plans at
 * size need a real server's planner and statistics.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { onRealServer } from "../setup/test-database.js";
import { checkPlans, planQuery, readBudgets, tableRows } from "./explain.js";
import { PLANNED_QUERIES } from "./queries.js";
import { readSample, type Sample } from "./samples.js";
import {
  clonePlanTemplate,
  ensurePlanTemplate,
  PLAN_SEED,
  type PlanDatabase,
} from "./seeded-template.js";

const budgets = readBudgets();
const SIZE = `${PLAN_SEED.users.toLocaleString("en-US")} users, ${PLAN_SEED.transfers.toLocaleString("en-US")} transfers`;

describe.skipIf(!onRealServer())(
  `query plans at ${SIZE} (needs a PostgreSQL server's planner: set TEST_DATABASE_URL or run Docker)`,
  () => {
    let plan: PlanDatabase | undefined;
    let sample: Sample;
    let rows: Map<string, number>;

    // Building the template the first time takes a minute or two (more on a busy machine, or
    // while another run holds the build lock); afterwards a clone takes about a second.
    beforeAll(async () => {
      const { adminUrl, runId } = inject("testDatabase");
      if (!adminUrl) throw new Error("no admin URL on a real server");
      const template = await ensurePlanTemplate(adminUrl);
      const name = `test_plans_${runId}_${randomBytes(4).toString("hex")}`;
      plan = await clonePlanTemplate(adminUrl, template, name);
      sample = await readSample(plan.database.db, 0.5);
      const sql = plan.database.sql;
      if (!sql) throw new Error("expected a postgres.js pool");
      rows = await tableRows(sql);
    }, 20 * 60_000);

    afterAll(async () => {
      await plan?.drop();
    });

    it.each(PLANNED_QUERIES.map((query) => [query.name, query] as const))(
      "%s stays within its plan budget",
      async (name, query) => {
        if (!plan) throw new Error("no plan database");
        const plans = await planQuery(plan.database, query, sample);
        const problems = checkPlans(query, plans, budgets, rows);
        if (problems.length > 0) {
          throw new Error(
            `${name}:\n  ${problems.join("\n  ")}\n(budgets: test/plans/budgets.json, recorded ` +
              `on ${budgets.recordedOn.server}; after a reviewed change: npm run plans:update)`,
          );
        }
      },
    );

    it("has a budget for every catalogued query and a query for every budget", () => {
      expect(Object.keys(budgets.queries).sort()).toEqual(
        PLANNED_QUERIES.map((query) => query.name).sort(),
      );
    });
  },
);
