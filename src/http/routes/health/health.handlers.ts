/** The health routes' handlers, each typed by its contract in `health.routes.ts`. */
import type { Database } from "../../../db/client.js";
import { JSON_UTF8 } from "../../openapi-helpers.js";
import { PROBLEM_CONTENT_TYPE, problem } from "../../problem.js";
import type { AppRouteHandler } from "../../router.js";
import type * as routes from "./health.routes.js";

/** How long readiness waits for `SELECT 1`: answer within the contract's "about a second". */
const READY_TIMEOUT_MS = 1_000;

export interface HealthDeps {
  database: Pick<Database, "ping">;
}

export function createHealthHandlers({ database }: HealthDeps) {
  const live: AppRouteHandler<typeof routes.live> = (c) =>
    c.json({ status: "ok" as const }, 200, JSON_UTF8);

  const ready: AppRouteHandler<typeof routes.ready> = async (c) => {
    try {
      const { latencyMs } = await database.ping(READY_TIMEOUT_MS);
      return c.json(
        { status: "ok" as const, checks: { database: { status: "ok" as const, latencyMs } } },
        200,
        JSON_UTF8,
      );
    } catch (error) {
      c.var.logger.warn({ requestId: c.var.requestId, err: error }, "readiness check failed");
      // Answered here rather than thrown: the problem carries the `checks` of the 200's shape.
      const body = {
        ...problem(503, "service_unavailable", "the database did not answer in time"),
        checks: { database: { status: "error" as const } },
      };
      return c.json(body, 503, { "Content-Type": PROBLEM_CONTENT_TYPE, "retry-after": "1" });
    }
  };

  return { live, ready };
}
