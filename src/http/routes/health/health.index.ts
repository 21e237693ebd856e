import { createRoute, z } from "@hono/zod-openapi";
import type { Database } from "../../../db/client.js";
import { JSON_UTF8, json } from "../../openapi-helpers.js";
import { problem, sendProblem } from "../../problem.js";
import { createRouter } from "../../router.js";

/** How long readiness waits for `SELECT 1`: answer within the contract's "about a second". */
export const READY_TIMEOUT_MS = 1_000;

const DatabaseCheck = z.object({
  status: z.enum(["ok", "error"]),
  latencyMs: z.number().optional(),
});
const Checks = z.object({ database: DatabaseCheck });

const liveRoute = createRoute({
  method: "get",
  path: "/health/live",
  tags: ["health"],
  summary: "Liveness: the process is up (no database call)",
  responses: { 200: json(z.object({ status: z.literal("ok") }), "Alive") },
});

const readyRoute = createRoute({
  method: "get",
  path: "/health/ready",
  tags: ["health"],
  summary: "Readiness: the database answers SELECT 1 within about a second",
  responses: {
    200: json(z.object({ status: z.literal("ok"), checks: Checks }), "Ready"),
    503: {
      description: "Database unreachable or too slow (service_unavailable), with `checks`",
      content: {
        "application/problem+json": { schema: z.object({ checks: Checks }).passthrough() },
      },
    },
  },
});

export function createHealthRouter({ database }: { database: Pick<Database, "ping"> }) {
  return createRouter()
    .openapi(liveRoute, (c) => c.json({ status: "ok" as const }, 200, JSON_UTF8))
    .openapi(readyRoute, async (c) => {
      try {
        const { latencyMs } = await database.ping(READY_TIMEOUT_MS);
        return c.json(
          { status: "ok" as const, checks: { database: { status: "ok" as const, latencyMs } } },
          200,
          JSON_UTF8,
        );
      } catch (error) {
        c.var.logger.warn({ requestId: c.var.requestId, err: error }, "readiness check failed");
        return sendProblem(
          c,
          problem(503, "service_unavailable", "the database did not answer in time", {
            checks: { database: { status: "error" } },
          }),
          { "retry-after": "1" },
        ) as never;
      }
    });
}
