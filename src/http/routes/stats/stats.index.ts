import { createRoute } from "@hono/zod-openapi";
import type { AppDatabase } from "../../../db/client.js";
import { getStats } from "../../../db/repositories/stats.js";
import { JSON_UTF8, json } from "../../openapi-helpers.js";
import { createRouter } from "../../router.js";
import { problems, Stats } from "../../schemas.js";

const statsRoute = createRoute({
  method: "get",
  path: "/stats",
  tags: ["stats"],
  summary: "Counts and per-currency balance totals, read in one snapshot",
  responses: { 200: json(Stats, "Ledger totals"), ...problems(503) },
});

export function createStatsRouter({ db }: { db: AppDatabase }) {
  return createRouter().openapi(statsRoute, async (c) =>
    c.json(await getStats(db), 200, JSON_UTF8),
  );
}
