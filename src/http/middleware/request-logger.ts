import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Logger } from "../../logger.js";
import type { AppEnv } from "../router.js";

export interface RequestLoggerOptions {
  logger: Logger;
}

/**
 * Gives each request a child logger bound to its request id (`c.var.logger`) and logs one line
 * when it completes: method, route pattern (not the raw URL, which may carry ids or tokens),
 * status and duration. 5xx at error, 4xx at info, the rest at debug when `LOG_LEVEL=debug`...
 * and at info otherwise, so production keeps an access log.
 */
export function requestLogger({ logger }: RequestLoggerOptions): MiddlewareHandler<AppEnv> {
  return async function requestLoggerMiddleware(c, next) {
    const started = performance.now();
    const log = logger.child({ requestId: c.var.requestId });
    c.set("logger", log);
    await next();
    const status = c.res.status;
    const line = {
      method: c.req.method,
      route: routePath(c),
      status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    };
    if (status >= 500) log.error(line, "request failed");
    else log.info(line, "request completed");
  };
}
