import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { type Logger, withLogContext } from "../../logger.js";
import type { AppEnv } from "../router.js";

export interface RequestLoggerOptions {
  logger: Logger;
}

/**
 * Tags every log line written while the request is handled with its request id (including the
 * database's query log), and writes one access line when it completes: method, route pattern
 * (not the raw URL, which may carry ids or tokens), status and duration; 5xx at error.
 */
export function requestLogger({ logger }: RequestLoggerOptions): MiddlewareHandler<AppEnv> {
  return function requestLoggerMiddleware(c, next) {
    const started = performance.now();
    c.set("logger", logger);
    return withLogContext({ requestId: c.var.requestId }, async () => {
      await next();
      const status = c.res.status;
      const line = {
        method: c.req.method,
        route: routePath(c),
        status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      };
      if (status >= 500) logger.error(line, "request failed");
      else logger.info(line, "request completed");
    });
  };
}
