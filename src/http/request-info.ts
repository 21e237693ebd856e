/**
 * What the security middleware reads from a request, cheaply: on the Node adapter straight from
 * the Node request (`c.env.incoming`), because the first header read through Hono builds a WHATWG
 * `Headers` of the whole request; under `app.request` (tests) and other runtimes, through Hono.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { forwardedClient } from "../security/client-address.js";

/** What @hono/node-server passes as `c.env`; absent under `app.request` and other runtimes. */
export interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

const incomingOf = (c: Context) => (c.env as NodeBindings | undefined)?.incoming;

/** A request header by its lowercase name. */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = incomingOf(c);
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  // Node joins repeated headers into one string, except the few it keeps as arrays.
  return Array.isArray(value) ? value[0] : value;
}

/** The client of a request without a socket (`app.request`): all of them are one client. */
export const UNKNOWN_CLIENT = "unknown";

/**
 * The client's IP address: the connection's peer (`getConnInfo`), or with `trustedProxies` > 0
 * the address those proxies report in `X-Forwarded-For` (`forwardedClient`).
 */
export function clientAddress(c: Context, trustedProxies: number): string {
  const incoming = incomingOf(c);
  if (!incoming) return UNKNOWN_CLIENT;
  const peer = getConnInfo(c).remote.address ?? UNKNOWN_CLIENT;
  if (trustedProxies === 0) return peer;
  return forwardedClient(requestHeader(c, "x-forwarded-for"), peer, trustedProxies);
}
