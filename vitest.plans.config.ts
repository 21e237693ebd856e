import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

/**
 * The query-plan regression tests (test/plans): explained on a database seeded at realistic size,
 * built once per migrations + seed version and kept on the server as a template. The suite's
 * settings, with only these files (mergeConfig would append to the suite's include list).
 */
export default defineConfig({
  test: {
    ...base.test,
    // The suite's projects would run the suite's files instead of these.
    projects: undefined,
    include: ["test/plans/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
  },
});
