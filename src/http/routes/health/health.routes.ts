/** The health routes' contracts (validation and the OpenAPI document); handlers are typed by them. */
import { createRoute, z } from "@hono/zod-openapi";
import { json } from "../../openapi-helpers.js";

const DatabaseCheck = z.object({
  status: z.enum(["ok", "error"]),
  latencyMs: z.number().optional(),
});
const Checks = z.object({ database: DatabaseCheck });

export const live = createRoute({
  method: "get",
  path: "/health/live",
  tags: ["health"],
  summary: "Liveness: the process is up (no database call)",
  responses: { 200: json(z.object({ status: z.literal("ok") }), "Alive") },
});

export const ready = createRoute({
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
