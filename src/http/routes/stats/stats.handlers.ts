/** The stats route's handler, typed by its contract in `stats.routes.ts`. */
import type { AppDatabase } from "../../../db/client.js";
import { getStats } from "../../../db/repositories/stats.js";
import { JSON_UTF8 } from "../../openapi-helpers.js";
import type { AppRouteHandler } from "../../router.js";
import type * as routes from "./stats.routes.js";

export interface StatsDeps {
  db: AppDatabase;
}

export function createStatsHandlers({ db }: StatsDeps) {
  const totals: AppRouteHandler<typeof routes.totals> = async (c) =>
    c.json(await getStats(db), 200, JSON_UTF8);

  return { totals };
}
