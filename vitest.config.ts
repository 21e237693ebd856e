import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Query plans at realistic size need a seeded database of 600,000 rows: their own command
    // (`npm run test:plans`, vitest.plans.config.ts), run by CI after the suite.
    exclude: ["test/plans/**", "**/node_modules/**"],
    // Resolves the database once per run (TEST_DATABASE_URL, testcontainers or PGlite) and
    // prepares a migrated template database; each test file clones its own from it
    // (test/setup/test-database.ts).
    globalSetup: ["test/setup/global-setup.ts"],
    setupFiles: ["test/setup/fail-on-error-log.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Tests never depend on order; shuffling keeps it that way.
    sequence: { shuffle: { files: false, tests: true } },
    env: { NODE_ENV: "test" },
  },
});
