// Types of report.mjs, for the TypeScript that imports it (test/unit/deps-canary.test.ts).
import type { PlannedRow } from "./plan.mjs";

/** The part of vitest's JSON reporter output (`--reporter=json`) the canary reads. */
export interface VitestJsonReport {
  success?: boolean;
  numPassedTests?: number;
  numFailedTests?: number;
  numPendingTests?: number;
  numTodoTests?: number;
  numTotalTests?: number;
  testResults?: {
    name: string;
    status: string;
    message?: string;
    assertionResults?: {
      ancestorTitles?: string[];
      title: string;
      status: string;
      failureMessages?: string[] | null;
    }[];
  }[];
}

export interface TestFailure {
  name: string;
  message: string;
}

export interface TestSummary {
  success: boolean;
  passed: number;
  failed: number;
  skipped: number;
  total: number;
  failures: TestFailure[];
}

export interface RowResult extends PlannedRow {
  install?: { ok: boolean; durationMs?: number; message?: string };
  typecheck?: { ok: boolean; durationMs?: number; errors: string[] };
  tests?: TestSummary & { ok: boolean; durationMs?: number; message?: string };
  durationMs?: number;
  /** Set by compareWithBaseline: the failures the baseline row does not share. */
  newFailures?: string[];
}

export interface CanaryReport {
  date: string;
  node: string;
  npm: string;
  rows: RowResult[];
  error?: string;
}

export declare function parseVitestReport(report: VitestJsonReport, root?: string): TestSummary;
export declare function typeErrors(output: string): string[];
export declare function failureLine(output: string): string;
export declare function formatDuration(ms: number): string;
export declare function rowStatus(row: RowResult): "pass" | "fail" | "skipped";
export declare function exitCode(rows: readonly RowResult[]): 0 | 1;
export declare function compareWithBaseline<T extends RowResult[]>(rows: T): T;
export declare function formatTable(rows: readonly RowResult[]): string;
export declare function failureDetails(
  rows: readonly RowResult[],
  limit?: number,
): { label: string; lines: string[] }[];
export declare function formatMarkdown(report: CanaryReport): string;
