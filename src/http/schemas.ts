/**
 * Request and response schemas shared by the routes; they drive both validation and the
 * OpenAPI document. Bodies are strict: unknown fields are rejected with 400, so a typo such
 * as `initalBalance` can't silently fall back to a default.
 */
import { z } from "@hono/zod-openapi";

/** Text PostgreSQL can store: no NUL characters (text columns reject U+0000). */
const storableText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes("\u0000"), "must not contain NUL characters");

const Id = z.guid().openapi({ example: "3f0c2a9e-5c1b-4d9e-9a51-8d1f5e0b7c42" });
export const IdParam = z.object({ id: Id.openapi({ param: { name: "id", in: "path" } }) });

const Email = z
  .string()
  .trim()
  .max(320)
  .pipe(z.email())
  .openapi({ type: "string", format: "email", example: "ada@example.com" });
const Name = storableText(200).min(1).openapi({ example: "Ada Lovelace" });
/** Minor units (cents): a safe JSON integer. */
const Money = z.int().nonnegative().openapi({ example: 10_000 });
const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/, "must be a 3-letter uppercase ISO 4217 code")
  .openapi({ example: "EUR" });
const Timestamp = z.iso.datetime().openapi({ example: "2026-01-01T12:00:00.000Z" });

export const Pagination = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .openapi({ param: { name: "limit", in: "query" }, example: 20 }),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({
      param: { name: "cursor", in: "query" },
      description: "`nextCursor` of the previous page",
    }),
});

export const User = z
  .object({
    id: Id,
    email: z.string(),
    name: z.string(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("User");
export const CreateUser = z.strictObject({ email: Email, name: Name }).openapi("CreateUser");
export const UpdateUser = z
  .strictObject({ email: Email.optional(), name: Name.optional() })
  .openapi("UpdateUser");
export const BulkUsers = z
  .strictObject({ users: z.array(CreateUser).min(1).max(10_000) })
  .openapi("BulkUsers");

export const Account = z
  .object({ id: Id, userId: Id, currency: Currency, balance: Money, createdAt: Timestamp })
  .openapi("Account");
export const CreateAccount = z
  .strictObject({ userId: Id, currency: Currency, initialBalance: Money.optional() })
  .openapi("CreateAccount");

export const Transfer = z
  .object({
    id: Id,
    fromAccountId: Id,
    toAccountId: Id,
    amount: Money,
    currency: Currency,
    createdAt: Timestamp,
  })
  .openapi("Transfer");
export const CreateTransfer = z
  .strictObject({
    fromAccountId: Id,
    toAccountId: Id,
    amount: z.int().positive().openapi({ example: 2_500 }),
  })
  .refine((t) => t.fromAccountId.toLowerCase() !== t.toAccountId.toLowerCase(), {
    message: "must differ from fromAccountId",
    path: ["toAccountId"],
  })
  .openapi("CreateTransfer");
export const IdempotencyHeaders = z.object({
  "idempotency-key": z
    .string()
    .regex(/^[\x21-\x7E]{1,255}$/, "must be 1-255 visible ASCII characters")
    .optional()
    .openapi({
      description: "Idempotency-Key: replays of the same body return the original transfer",
    }),
});

export const Stats = z
  .object({
    users: z.int(),
    accounts: z.int(),
    transfers: z.int(),
    balances: z.array(z.object({ currency: Currency, total: z.number() })),
  })
  .openapi("Stats");

const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    code: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

const PROBLEM_DESCRIPTIONS = {
  400: "Invalid input (validation_failed)",
  401: "Missing or wrong bearer token (unauthorized), with `WWW-Authenticate: Bearer`",
  404: "Not found (not_found)",
  409: "Conflict",
  413: "Payload too large (payload_too_large)",
  422: "Rule violated",
  429: "Too many requests from this client (rate_limited); `Retry-After` says when to retry",
  503: "Database unavailable (service_unavailable)",
};
type ProblemStatus = keyof typeof PROBLEM_DESCRIPTIONS;
const problemResponse = (status: ProblemStatus) => ({
  description: PROBLEM_DESCRIPTIONS[status],
  content: { "application/problem+json": { schema: Problem } },
});

/**
 * Problem responses for `createRoute`, by status. Keyed by the literal statuses, so that the
 * route's type knows them: typed clients (`testClient`, `hc`) see each one's problem body.
 */
export function problems<const S extends ProblemStatus>(
  ...statuses: S[]
): Record<S, ReturnType<typeof problemResponse>> {
  return Object.fromEntries(statuses.map((status) => [status, problemResponse(status)])) as Record<
    S,
    ReturnType<typeof problemResponse>
  >;
}

/** DTOs: timestamps as ISO 8601 UTC strings. */
export const toIso = (date: Date) => date.toISOString();
