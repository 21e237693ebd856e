// Types of plan.mjs, for the TypeScript that imports it (test/unit/deps-canary.test.ts).

export interface CanaryOptions {
  only?: string[];
  keep: boolean;
  skipIndividual: boolean;
  baseline: boolean;
  untracked: boolean;
  markdown?: string;
  json?: string;
  help: boolean;
}

/** `current` is the lockfile's version; both are undefined when it is not a dependency. */
export interface PackageVersions {
  name: string;
  current: string | undefined;
  newest: string | undefined;
}

export interface Upgrade {
  name: string;
  from: string;
  to: string;
}

export interface PlannedRow {
  kind: "baseline" | "individual" | "together";
  label: string;
  current?: string | undefined;
  newest?: string | undefined;
  upgrades: Upgrade[];
  /** Why this row does not run. */
  skip?: string;
  /** The individual row whose run this row would repeat. */
  sameAs?: string;
}

export declare const CANARY_PACKAGES: readonly string[];
export declare const USAGE: string;
export declare class UsageError extends Error {}
export declare function parseArgs(argv: readonly string[]): CanaryOptions;
export declare function compareVersions(a: string, b: string): number;
export declare function planRuns(
  packages: readonly PackageVersions[],
  options?: { skipIndividual?: boolean; baseline?: boolean },
): PlannedRow[];
