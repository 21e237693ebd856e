/** The stats router: the contract in `stats.routes.ts` wired to its handler. */
import { createRouter } from "../../router.js";
import { createStatsHandlers, type StatsDeps } from "./stats.handlers.js";
import * as routes from "./stats.routes.js";

export function createStatsRouter(deps: StatsDeps) {
  const handlers = createStatsHandlers(deps);
  return createRouter().openapi(routes.totals, handlers.totals);
}
