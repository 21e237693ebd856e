import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

/** The suite's files, and what each of them gets, whichever project below runs it. */
const suite = {
  include: ["test/**/*.test.ts"],
  // Query plans at realistic size need a seeded database of 600,000 rows: their own command
  // (`npm run test:plans`, vitest.plans.config.ts), run by CI after the suite.
  exclude: ["test/plans/**", "**/node_modules/**"],
  setupFiles: ["test/setup/fail-on-error-log.ts"],
  pool: "forks" as const,
  testTimeout: 30_000,
  hookTimeout: 120_000,
  // Tests never depend on order; shuffling keeps it that way.
  sequence: { shuffle: { files: false, tests: true } },
  env: { NODE_ENV: "test" },
};

/**
 * Files whose helpers register hooks or keep state at module level (migrations/helpers.ts,
 * inspect/helpers.ts): they need a fresh module cache, so each runs in a process of its own.
 */
const ownProcess = [
  "test/integration/migrations/**/*.test.ts",
  "test/integration/inspect/**/*.test.ts",
];

export default defineConfig({
  test: {
    // Also the base of vitest.plans.config.ts; the projects below are what `npm test` runs.
    ...suite,
    // Resolves the database once per run (TEST_DATABASE_URL, testcontainers or PGlite) and
    // prepares a migrated template database; each test file clones its own from it
    // (test/setup/test-database.ts). Runs once, for both projects.
    globalSetup: ["test/setup/global-setup.ts"],
    // Files spend much of their time waiting (child processes, the database server, timers), so
    // one worker per core, where vitest's default leaves a core to itself (on 2 cores: a single
    // worker, 2.5 times slower). Three workers on 2 cores did no better than two.
    maxWorkers: availableParallelism(),
    projects: [
      {
        test: {
          ...suite,
          name: "shared",
          exclude: [...suite.exclude, ...ownProcess],
          // A worker runs file after file and loads the app, its dependencies and PGlite once
          // instead of once per file: a fifth of the suite's CPU time. Test files are evaluated
          // afresh, but what they import is shared: a helper module must not register hooks or
          // keep per-file state at its top level (those files go in `ownProcess`).
          isolate: false,
        },
      },
      { test: { ...suite, name: "isolated", include: ownProcess } },
    ],
  },
});
