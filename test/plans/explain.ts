/**
 * Query plans of the catalogued queries (queries.ts) and their budgets (budgets.json).
 *
 * The SQL is never copied by hand: each query runs through its repository function while a
 * `database.listen` listener records the statements it sends (text and bound values, exactly
 * as the driver got them); each distinct statement is then explained with those values,
 * `EXPLAIN (FORMAT JSON)`, which plans without executing.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type postgres from "postgres";
import type { Database } from "../../src/db/client.js";
import { formatCount, truncateQuery } from "../../src/inspect/format.js";
import type { PlannedQuery } from "./queries.js";
import type { Sample } from "./samples.js";

export const BUDGETS_FILE = fileURLToPath(new URL("./budgets.json", import.meta.url));

export interface StatementBudget {
  /** The statement as sent, for the reviewer; a changed text alone fails nothing. */
  sql: string;
  /**
   * How the plan reaches each table: `index users_pkey on users` (an index scan, index-only or
   * bitmap: which one is the planner's call from one ANALYZE to the next), `Seq Scan on users`,
   * `Insert on transfers`.
   */
  access: string[];
  /** The planner's estimated total cost when recorded. */
  cost: number;
}

export interface BudgetFile {
  /** The estimated cost may exceed its budget by this share (0.25: 25%) before a test fails. */
  tolerance: number;
  /** A sequential scan of a table with more rows than this fails, unless in `fullScans`. */
  largeTableRows: number;
  /** What the budgets were measured on: costs differ somewhat between major versions. */
  recordedOn: { server: string; users: number; transfers: number };
  queries: Record<string, StatementBudget[]>;
}

export const readBudgets = (): BudgetFile =>
  JSON.parse(readFileSync(BUDGETS_FILE, "utf8")) as BudgetFile;

/** Writes the file as Biome formats JSON, so that `npm run lint` passes on the result. */
export function writeBudgets(budgets: BudgetFile) {
  writeFileSync(BUDGETS_FILE, `${JSON.stringify(budgets, null, 2)}\n`);
  const biome = createRequire(import.meta.url).resolve("@biomejs/biome/bin/biome");
  execFileSync(process.execPath, [biome, "format", "--write", BUDGETS_FILE], { stdio: "ignore" });
}

export interface CapturedStatement {
  sql: string;
  params: readonly unknown[];
  /** The prepared statement's name, or the statement's kind (`select`, `insert`, ...). */
  operation: string;
}

/**
 * Runs `work` and returns the statements it sent through `database`, each distinct text once,
 * in the order first sent. Nothing else may use `database` meanwhile.
 */
export async function captureStatements(
  database: Database,
  work: () => Promise<unknown>,
): Promise<CapturedStatement[]> {
  const seen = new Map<string, CapturedStatement>();
  const stop = database.listen({
    query: ({ sql, params, operation }) => {
      if (!seen.has(sql)) seen.set(sql, { sql, params, operation });
    },
  });
  try {
    await work();
  } finally {
    stop();
  }
  return [...seen.values()];
}

interface PlanNode {
  "Node Type": string;
  "Total Cost": number;
  "Relation Name"?: string;
  "Index Name"?: string;
  /** ModifyTable: Insert, Update, Delete. */
  Operation?: string;
  Plans?: PlanNode[];
}

export interface StatementPlan {
  sql: string;
  cost: number;
  access: string[];
  /** Tables read by a (parallel) sequential scan. */
  seqScans: string[];
}

/** The plan of one captured statement, with its captured values bound. */
export async function explainStatement(
  sql: postgres.Sql,
  statement: CapturedStatement,
): Promise<StatementPlan> {
  const [row] = await sql.unsafe<{ "QUERY PLAN": { Plan: PlanNode }[] }[]>(
    `explain (format json) ${statement.sql}`,
    statement.params as postgres.ParameterOrJSON<never>[],
    { prepare: false },
  );
  const root = row?.["QUERY PLAN"][0]?.Plan;
  if (!root) throw new Error(`no plan for ${statement.sql}`);
  const access = new Set<string>();
  const seqScans = new Set<string>();
  // A bitmap scan names its table on the heap node and its indexes on the nodes below it.
  const visit = (node: PlanNode, bitmapOf?: string) => {
    const type = node["Node Type"];
    const relation = node["Relation Name"] ?? bitmapOf;
    const index = node["Index Name"];
    if (type.endsWith("Seq Scan") && relation) {
      seqScans.add(relation);
      access.add(`Seq Scan on ${relation}`);
    } else if (index) {
      access.add(`index ${index} on ${relation ?? "?"}`);
    } else if (type === "ModifyTable" && relation) {
      access.add(`${node.Operation ?? "Modify"} on ${relation}`);
    } else if (node["Relation Name"] && type !== "Bitmap Heap Scan") {
      access.add(`${type} on ${relation}`);
    }
    for (const child of node.Plans ?? []) {
      visit(child, type === "Bitmap Heap Scan" ? relation : bitmapOf);
    }
  };
  visit(root);
  return {
    sql: statement.sql,
    cost: root["Total Cost"],
    access: [...access].sort(),
    seqScans: [...seqScans].sort(),
  };
}

/** Runs one catalogued query with `sample` and explains every statement it sent. */
export async function planQuery(
  database: Database,
  query: PlannedQuery,
  sample: Sample,
): Promise<StatementPlan[]> {
  const { sql } = database;
  if (!sql) throw new Error("query plans need a PostgreSQL server");
  const statements = await captureStatements(database, () => query.run(database.db, sample));
  const plans: StatementPlan[] = [];
  for (const statement of statements) plans.push(await explainStatement(sql, statement));
  return plans;
}

/** Rows per table as the planner believes them (`pg_class.reltuples`, set by ANALYZE). */
export async function tableRows(sql: postgres.Sql): Promise<Map<string, number>> {
  const rows = await sql<{ name: string; rows: number }[]>`
    select relname as name, greatest(reltuples, 0)::float8 as rows
    from pg_class
    where relkind in ('r', 'p') and relnamespace = 'public'::regnamespace`;
  return new Map(rows.map((row) => [row.name, row.rows]));
}

/**
 * What is wrong with `plans` against their budget, one readable line per problem; empty when
 * nothing is. Checks, per statement: no sequential scan of a large table outside `fullScans`,
 * the same table and index accesses as recorded, and a cost within budget plus tolerance.
 */
export function checkPlans(
  query: PlannedQuery,
  plans: readonly StatementPlan[],
  budgets: BudgetFile,
  rows: ReadonlyMap<string, number>,
): string[] {
  const recorded = budgets.queries[query.name];
  if (!recorded) return [`no budget recorded: run npm run plans:update and review the new entry`];
  const problems: string[] = [];
  if (recorded.length !== plans.length) {
    problems.push(
      `sends ${plans.length} distinct statements, the budget has ${recorded.length}: review, ` +
        "then npm run plans:update",
    );
  }
  plans.forEach((plan, i) => {
    const where = plans.length > 1 ? `statement ${i + 1} (${truncateQuery(plan.sql, 80)}): ` : "";
    for (const table of plan.seqScans) {
      const count = rows.get(table) ?? 0;
      if (count > budgets.largeTableRows && !query.fullScans?.includes(table)) {
        problems.push(
          `${where}sequential scan of ${table} (${formatCount(count)} rows): add an index, or, if ` +
            `reading every row is the point, list "${table}" in fullScans (test/plans/queries.ts)`,
        );
      }
    }
    const budget = recorded[i];
    if (!budget) return;
    if (plan.access.join("\n") !== budget.access.join("\n")) {
      problems.push(
        `${where}plan changed\n    expected: ${budget.access.join("; ") || "(no table access)"}` +
          `\n    actual:   ${plan.access.join("; ") || "(no table access)"}`,
      );
    }
    const limit = budget.cost * (1 + budgets.tolerance);
    if (plan.cost > limit) {
      problems.push(
        `${where}estimated cost ${plan.cost.toFixed(2)} exceeds its budget ${budget.cost.toFixed(2)} ` +
          `by more than ${Math.round(budgets.tolerance * 100)}% (limit ${limit.toFixed(2)})`,
      );
    }
  });
  return problems;
}

/** The budget entries `plans` would record. */
export const budgetOf = (plans: readonly StatementPlan[]): StatementBudget[] =>
  plans.map((plan) => ({
    sql: plan.sql,
    access: plan.access,
    cost: Math.round(plan.cost * 100) / 100,
  }));
