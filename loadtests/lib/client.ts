/**
 * The one place the scripts make HTTP requests. Every request carries:
 * - a `name` tag, the route template ("GET /users/{id}"), so metrics and thresholds aggregate
 *   per endpoint instead of per URL;
 * - the statuses that are a correct answer for that call, so a deliberate 404, 409 or 422 does
 *   not count in `http_req_failed` while an unexpected one (or a 500) does;
 * - `Authorization: Bearer $API_TOKEN` when API_TOKEN is set (the server's writes require it).
 */

import type { ObjectBatchRequest, Response } from "k6/http";
import http from "k6/http";
import { config } from "./config.ts";

export interface RequestOptions {
  /** Route template used as the `name` tag, e.g. "GET /users/{id}". */
  name: string;
  /** Statuses that are not a failure for this call. */
  expect: readonly number[];
  /** Sent as JSON, unless it is already a string. */
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Describes a request without sending it, for `sendBatch`.
 *
 * @example
 * const name = "GET /users/{id}";
 * sendBatch(ids.map((id) => request("GET", `/users/${id}`, { name, expect: [200] })));
 */
const AUTHORIZATION: Record<string, string> = config.apiToken
  ? { Authorization: `Bearer ${config.apiToken}` }
  : {};

export function request(method: string, path: string, options: RequestOptions): ObjectBatchRequest {
  const { name, expect, body, headers } = options;
  return {
    method,
    url: `${config.baseUrl}${path}`,
    body: body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body),
    params: {
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        ...AUTHORIZATION,
        ...headers,
      },
      tags: { name },
      timeout: config.requestTimeout,
      responseCallback: http.expectedStatuses(...expect),
    },
  };
}

export function send(method: string, path: string, options: RequestOptions): Response {
  const { url, body, params } = request(method, path, options);
  return http.request(method, url, body, params);
}

/** Sends the requests in parallel (at most `batchPerHost`, default 6, at a time). */
export function sendBatch(requests: ObjectBatchRequest[]): Response[] {
  return http.batch(requests);
}

/** The parsed JSON body, or undefined when there is none or it is not JSON. */
export function bodyOf<T>(response: Response): T | undefined {
  if (typeof response.body !== "string" || response.body === "") return undefined;
  try {
    return JSON.parse(response.body) as T;
  } catch {
    return undefined;
  }
}

/** `?a=1&b=2` from the defined entries, or "" when there are none. */
export function queryString(params: Record<string, string | number | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  return parts.length > 0 ? `?${parts.join("&")}` : "";
}

/** A response header by case-insensitive name (k6 reports them in Go's canonical form). */
export function header(response: Response, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(response.headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}
