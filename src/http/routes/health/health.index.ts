/** The health router: each contract in `health.routes.ts` wired to its handler. */
import { createRouter } from "../../router.js";
import { createHealthHandlers, type HealthDeps } from "./health.handlers.js";
import * as routes from "./health.routes.js";

export function createHealthRouter(deps: HealthDeps) {
  const handlers = createHealthHandlers(deps);
  return createRouter().openapi(routes.live, handlers.live).openapi(routes.ready, handlers.ready);
}
