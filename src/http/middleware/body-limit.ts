/**
 * Request body limits, answered 413 problem+json (`code: "payload_too_large"`) in a way every
 * client gets to read.
 *
 * A server that answers an oversize upload at once and stops reading leaves the client writing
 * into a connection nobody reads: once @hono/node-server gives up draining it (half a second),
 * the socket is closed, and a client still sending sees EPIPE or ECONNRESET instead of the 413 —
 * often, on a large body. So an oversize body is read to its end and thrown away before the
 * answer, up to `drainFactor` times the limit (and `drainTimeoutMs`); past that bound the 413 goes
 * out with `Connection: close`, the best a server can do for a client sending gigabytes.
 *
 * A declared `Content-Length` within the limit passes straight through (Node's parser delivers
 * exactly that many bytes). A body without one (chunked) is counted as it streams and buffered,
 * as `hono/body-limit` does. Registered for the methods with a body only: reading `c.req.raw`
 * makes the Node adapter build a full Request, which GETs must not pay for.
 *
 * Each refusal is logged at info as `event: "body.too_large"` and passed to `onSecurityEvent`.
 *
 * @example
 * app.on(["POST", "PUT", "PATCH"], "*", bodyLimit({ maxBytes: () => 1024 * 1024 }));
 */
import type { Context, MiddlewareHandler } from "hono";
import type { SecurityEventHook } from "../../security/events.js";
import { problem, sendProblem } from "../problem.js";
import { requestHeader } from "../request-info.js";
import type { AppEnv } from "../router.js";

export interface BodyLimitOptions {
  /** The largest body the request's route accepts, in bytes. */
  maxBytes: (c: Context) => number;
  /** How much of an oversize body is read and discarded, as a multiple of the limit. Default 2. */
  drainFactor?: number | undefined;
  /** How long that reading may take before the 413 goes out regardless. Default 10 s. */
  drainTimeoutMs?: number | undefined;
  onSecurityEvent?: SecurityEventHook | undefined;
}

type Reader = ReadableStreamDefaultReader<Uint8Array>;

export function bodyLimit({
  maxBytes,
  drainFactor = 2,
  drainTimeoutMs = 10_000,
  onSecurityEvent,
}: BodyLimitOptions): MiddlewareHandler<AppEnv> {
  const refuse = (c: Context<AppEnv>, limit: number, drained: boolean) => {
    onSecurityEvent?.("body.too_large");
    c.var.logger.info(
      {
        event: "body.too_large",
        requestId: c.var.requestId,
        limitBytes: limit,
        declaredBytes: declaredLength(c),
        drained,
      },
      "request body over the limit: answering 413",
    );
    return sendProblem(
      c,
      problem(413, "payload_too_large", `the request body is over the limit of ${limit} bytes`),
      // Not read to its end: the rest of the body is still on the way, so the connection can't
      // carry another request.
      drained ? undefined : { connection: "close" },
    );
  };

  return async function bodyLimitMiddleware(c, next) {
    const limit = maxBytes(c);
    const budget = limit * drainFactor;
    const declared = declaredLength(c);
    if (declared !== undefined && declared <= limit) return next();
    const body = c.req.raw.body;
    if (!body) return next();

    if (declared !== undefined) {
      const drained =
        declared <= budget && (await discard(body.getReader(), budget, drainTimeoutMs));
      return refuse(c, limit, drained);
    }
    const reader: Reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        return refuse(c, limit, await discard(reader, budget - size, drainTimeoutMs));
      }
      chunks.push(value);
    }
    c.req.raw = new Request(c.req.raw, { body: Buffer.concat(chunks, size) });
    return next();
  };
}

/** `Content-Length`, unless the body is chunked (then there is none, or it doesn't count). */
function declaredLength(c: Context): number | undefined {
  if (requestHeader(c, "transfer-encoding") !== undefined) return undefined;
  const header = requestHeader(c, "content-length");
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/**
 * Reads and drops the rest of a body, at most `budget` more bytes and `timeoutMs` long. True
 * when it reached the end: the connection is then clean for the next request.
 */
async function discard(reader: Reader, budget: number, timeoutMs: number): Promise<boolean> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    // Ends the pending read (done: true) without waiting for the client.
    reader.cancel().catch(() => undefined);
  }, timeoutMs);
  try {
    let read = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return !timedOut;
      read += value.byteLength;
      if (read > budget) return false;
    }
  } catch {
    // The client went away mid-body: the answer is for nobody, and the socket is closing.
    return false;
  } finally {
    clearTimeout(timer);
  }
}
