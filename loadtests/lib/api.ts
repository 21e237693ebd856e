/**
 * The API of shared/api-contract.md as functions, one per route. Each takes the statuses it
 * should treat as correct (default: the success status), so the same call serves the happy path
 * and a deliberate error case.
 */
import { check } from "k6";
import type { Response } from "k6/http";
import { bodyOf, header, queryString, send } from "./client.ts";

/** A well-formed id that no row has. */
export const MISSING_ID = "00000000-0000-4000-8000-000000000000";

export interface User {
  id: string;
  email: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

export interface Account {
  id: string;
  userId: string;
  currency: string;
  /** Minor units (cents). */
  balance: number;
  createdAt: string;
}

export interface Transfer {
  id: string;
  fromAccountId: string;
  toAccountId: string;
  amount: number;
  currency: string;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Stats {
  users: number;
  accounts: number;
  transfers: number;
  balances: { currency: string; total: number }[];
}

/** RFC 9457 problem details, as every error response carries them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: unknown; message: string }[];
}

/**
 * True when the response is an `application/problem+json` error with one of `statuses` and,
 * when given, one of `codes`. The contract leaves some statuses open ("400 or 404"), hence lists.
 */
export function isProblem(
  response: Response,
  statuses: number | readonly number[],
  codes?: string | readonly string[],
): boolean {
  const problem = bodyOf<Problem>(response);
  return (
    asList(statuses).includes(response.status) &&
    (header(response, "Content-Type") ?? "").startsWith("application/problem+json") &&
    problem !== undefined &&
    problem.status === response.status &&
    (codes === undefined || asList(codes).includes(problem.code))
  );
}

/** A check named `name` that the response is the problem `status` with `code`. */
export function expectProblem(
  response: Response,
  status: number,
  code: string,
  name: string,
): boolean {
  return check(response, { [name]: (r) => isProblem(r, status, code) });
}

function asList<T>(value: T | readonly T[]): readonly T[] {
  return Array.isArray(value) ? value : [value as T];
}

/** Route templates, used as the `name` tag of every request and in thresholds. */
export const ENDPOINTS = {
  live: "GET /health/live",
  ready: "GET /health/ready",
  openApi: "GET /openapi.json",
  docs: "GET /docs",
  createUser: "POST /users",
  getUser: "GET /users/{id}",
  listUsers: "GET /users",
  updateUser: "PATCH /users/{id}",
  deleteUser: "DELETE /users/{id}",
  createUsersBulk: "POST /users/bulk",
  createAccount: "POST /accounts",
  getAccount: "GET /accounts/{id}",
  listUserAccounts: "GET /users/{id}/accounts",
  listAccountTransfers: "GET /accounts/{id}/transfers",
  createTransfer: "POST /transfers",
  getTransfer: "GET /transfers/{id}",
  stats: "GET /stats",
} as const;

export type EndpointName = (typeof ENDPOINTS)[keyof typeof ENDPOINTS];

type Expect = readonly number[];

/** Escapes an id placed in a path, so a malformed one still makes a well-formed URL. */
const segment = encodeURIComponent;

export const getLive = (expect: Expect = [200]): Response =>
  send("GET", "/health/live", { name: ENDPOINTS.live, expect });

export const getReady = (expect: Expect = [200]): Response =>
  send("GET", "/health/ready", { name: ENDPOINTS.ready, expect });

export const getOpenApi = (expect: Expect = [200]): Response =>
  send("GET", "/openapi.json", { name: ENDPOINTS.openApi, expect });

export const getDocs = (expect: Expect = [200]): Response =>
  send("GET", "/docs", { name: ENDPOINTS.docs, expect, headers: { Accept: "text/html" } });

export const createUser = (body: unknown, expect: Expect = [201]): Response =>
  send("POST", "/users", { name: ENDPOINTS.createUser, expect, body });

export const getUser = (userId: string, expect: Expect = [200]): Response =>
  send("GET", `/users/${segment(userId)}`, { name: ENDPOINTS.getUser, expect });

export const listUsers = (
  query: { limit?: number | string; cursor?: string },
  expect: Expect = [200],
): Response => send("GET", `/users${queryString(query)}`, { name: ENDPOINTS.listUsers, expect });

export const updateUser = (userId: string, body: unknown, expect: Expect = [200]): Response =>
  send("PATCH", `/users/${segment(userId)}`, { name: ENDPOINTS.updateUser, expect, body });

export const deleteUser = (userId: string, expect: Expect = [204]): Response =>
  send("DELETE", `/users/${segment(userId)}`, { name: ENDPOINTS.deleteUser, expect });

export const createUsersBulk = (body: unknown, expect: Expect = [201]): Response =>
  send("POST", "/users/bulk", { name: ENDPOINTS.createUsersBulk, expect, body });

export const createAccount = (body: unknown, expect: Expect = [201]): Response =>
  send("POST", "/accounts", { name: ENDPOINTS.createAccount, expect, body });

export const getAccount = (accountId: string, expect: Expect = [200]): Response =>
  send("GET", `/accounts/${segment(accountId)}`, { name: ENDPOINTS.getAccount, expect });

export const listUserAccounts = (userId: string, expect: Expect = [200]): Response =>
  send("GET", `/users/${segment(userId)}/accounts`, { name: ENDPOINTS.listUserAccounts, expect });

export const listAccountTransfers = (
  accountId: string,
  query: { limit?: number | string; cursor?: string },
  expect: Expect = [200],
): Response =>
  send("GET", `/accounts/${segment(accountId)}/transfers${queryString(query)}`, {
    name: ENDPOINTS.listAccountTransfers,
    expect,
  });

/** Pass `idempotencyKey` undefined to send no Idempotency-Key header. */
export const createTransfer = (
  body: unknown,
  idempotencyKey: string | undefined,
  expect: Expect = [201],
): Response =>
  send("POST", "/transfers", {
    name: ENDPOINTS.createTransfer,
    expect,
    body,
    headers: idempotencyKey === undefined ? {} : { "Idempotency-Key": idempotencyKey },
  });

export const getTransfer = (transferId: string, expect: Expect = [200]): Response =>
  send("GET", `/transfers/${segment(transferId)}`, { name: ENDPOINTS.getTransfer, expect });

export const getStats = (expect: Expect = [200]): Response =>
  send("GET", "/stats", { name: ENDPOINTS.stats, expect });
