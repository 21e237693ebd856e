import { OpenAPIHono } from "@hono/zod-openapi";
import type { Logger } from "../logger.js";
import { ValidationError } from "./problem.js";

/** Per-request values the middleware sets. */
export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
  };
}

/**
 * A router whose validation failures become one 400 problem listing every field
 * (`users.3.email` names the bulk item at index 3).
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ValidationError(
          result.error.issues.map((issue) => ({
            path: issue.path.map(String).join("."),
            message: issue.message,
          })),
        );
      }
    },
  });
}
