import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";

/**
 * The query-plan regression tests (test/plans): explained on a database seeded at realistic size,
 * built once per migrations + seed version and kept on the server as a template.
 */
export default mergeConfig(
  base,
  defineConfig({ test: { include: ["test/plans/**/*.test.ts"], exclude: [] } }),
);
