/** The stats route's contract (validation and the OpenAPI document); its handler is typed by it. */
import { createRoute } from "@hono/zod-openapi";
import { json } from "../../openapi-helpers.js";
import { problems, Stats } from "../../schemas.js";

export const totals = createRoute({
  method: "get",
  path: "/stats",
  tags: ["stats"],
  summary: "Counts and per-currency balance totals, read in one snapshot",
  responses: { 200: json(Stats, "Ledger totals"), ...problems(429, 503) },
});
