/**
 * Errors -> RFC 9457 problem+json, in one place. Handlers throw typed errors (domain or
 * database); this module decides the status, the stable `code` and a safe `detail`. Nothing
 * from a database error's message, SQL or parameters reaches a response body.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  CheckViolationError,
  ConnectionError,
  DatabaseTimeoutError,
  DeadlockError,
  ForeignKeyViolationError,
  InvalidInputError,
  mapDatabaseError,
  NotNullViolationError,
  PoolTimeoutError,
  SerializationFailureError,
  UniqueViolationError,
} from "../db/errors.js";
import { InvalidCursorError } from "../db/pagination.js";
import { DomainError } from "../domain-errors.js";

export interface FieldError {
  path: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** Thrown by the validation hook; carries the per-field messages. */
export class ValidationError extends Error {
  override name = "ValidationError";
  constructor(
    readonly errors: FieldError[],
    message = "the request is invalid",
  ) {
    super(message);
  }
}

const TITLES: Record<string, string> = {
  validation_failed: "Validation failed",
  not_found: "Not found",
  conflict: "Conflict",
  unique_violation: "Already exists",
  idempotency_key_reused: "Idempotency key reused",
  foreign_key_violation: "Referenced resource does not exist",
  check_violation: "Constraint violated",
  insufficient_funds: "Insufficient funds",
  currency_mismatch: "Currency mismatch",
  payload_too_large: "Payload too large",
  unauthorized: "Unauthorized",
  rate_limited: "Too many requests",
  unsupported_media_type: "Unsupported media type",
  service_unavailable: "Service unavailable",
  internal_error: "Internal server error",
};

const DOMAIN_STATUS: Record<string, ContentfulStatusCode> = {
  not_found: 404,
  idempotency_key_reused: 409,
  insufficient_funds: 422,
  currency_mismatch: 422,
};

export function problem(
  status: ContentfulStatusCode,
  code: string,
  detail: string,
  extensions: Record<string, unknown> = {},
): Problem {
  return {
    type: `/problems/${code.replaceAll("_", "-")}`,
    title: TITLES[code] ?? "Error",
    status,
    detail,
    code,
    ...extensions,
  };
}

/** The one mapping from any thrown error to a problem. `unexpected` means: log it as a bug. */
export function toProblem(thrown: unknown): { problem: Problem; unexpected: boolean } {
  const error = mapDatabaseError(thrown);
  const known = (p: Problem) => ({ problem: p, unexpected: false });

  if (error instanceof ValidationError) {
    return known(problem(400, "validation_failed", error.message, { errors: error.errors }));
  }
  if (error instanceof InvalidCursorError) {
    return known(
      problem(400, "validation_failed", "the cursor is malformed", {
        errors: [{ path: "cursor", message: "malformed cursor" }],
      }),
    );
  }
  if (error instanceof DomainError) {
    return known(problem(DOMAIN_STATUS[error.code] ?? 400, error.code, error.message));
  }
  if (error instanceof UniqueViolationError) {
    const field = error.columns.join(", ") || "value";
    return known(
      problem(409, "unique_violation", `a resource with this ${field} already exists`, {
        ...(error.columns.length > 0 ? { fields: error.columns } : {}),
      }),
    );
  }
  if (error instanceof ForeignKeyViolationError) {
    return known(
      error.kind === "still_referenced"
        ? problem(409, "conflict", "the resource is still referenced by other resources")
        : problem(422, "foreign_key_violation", "a referenced resource does not exist"),
    );
  }
  if (error instanceof CheckViolationError) {
    return known(problem(422, "check_violation", "the change would break a data rule"));
  }
  if (error instanceof NotNullViolationError || error instanceof InvalidInputError) {
    return known(problem(400, "validation_failed", "a value is not acceptable"));
  }
  if (
    error instanceof ConnectionError ||
    error instanceof PoolTimeoutError ||
    error instanceof DatabaseTimeoutError ||
    // Still failing after the transaction helper's retries: the database is saturated.
    error instanceof SerializationFailureError ||
    error instanceof DeadlockError
  ) {
    return known(
      problem(503, "service_unavailable", "the database is unavailable or overloaded; retry later"),
    );
  }
  if (error instanceof HTTPException) {
    return known(fromHttpException(error));
  }
  return {
    problem: problem(500, "internal_error", "an unexpected error occurred"),
    unexpected: true,
  };
}

function fromHttpException(error: HTTPException): Problem {
  const status = error.status as ContentfulStatusCode;
  switch (status) {
    case 400:
      // Hono's validator throws this for a body that isn't JSON.
      return problem(400, "validation_failed", "the request body is not valid JSON", {
        errors: [{ path: "", message: "malformed JSON" }],
      });
    case 413:
      return problem(413, "payload_too_large", "the request body is too large");
    case 415:
      return problem(415, "unsupported_media_type", "send application/json");
    default:
      return problem(status, status >= 500 ? "internal_error" : "bad_request", "request failed");
  }
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8";

/** Headers of a problem response without extra ones: one key, like `JSON_UTF8`. */
const PROBLEM_HEADERS = { "content-type": PROBLEM_CONTENT_TYPE };

/** Writes a problem as `application/problem+json` (headers set earlier, e.g. x-request-id, stay). */
export function sendProblem(c: Context, body: Problem, headers?: Record<string, string>) {
  return c.body(
    JSON.stringify(body),
    body.status as ContentfulStatusCode,
    headers === undefined ? PROBLEM_HEADERS : { ...PROBLEM_HEADERS, ...headers },
  );
}
