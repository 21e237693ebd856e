/**
 * The smoke test's cases for users: creation, lookup, pagination, updates, deletion and the bulk
 * insert, each with the error answers the contract promises.
 */
import { check } from "k6";
import type { Page, Problem, User } from "./api.ts";
import {
  createUser,
  createUsersBulk,
  deleteUser,
  expectProblem,
  getUser,
  isProblem,
  listUsers,
  MISSING_ID,
  updateUser,
} from "./api.ts";
import { bodyOf, header } from "./client.ts";
import type { Fixture } from "./fixture.ts";
import { uniqueEmail } from "./fixture.ts";

/** Creates the user the account cases use; undefined if that already failed. */
export function checkUsers(fixture: Fixture): User | undefined {
  const email = uniqueEmail(`${fixture.runId}-smoke`);
  const created = createUser({ email: `  ${email}  `, name: "Smoke Test" });
  const user = bodyOf<User>(created);
  check(created, {
    "POST /users → 201 with the user": (r) =>
      r.status === 201 && user?.name === "Smoke Test" && typeof user.createdAt === "string",
    "POST /users → email trimmed": () => user?.email.toLowerCase() === email,
    "POST /users → Location of the user": (r) =>
      user !== undefined && (header(r, "Location") ?? "").endsWith(`/users/${user.id}`),
  });
  if (user === undefined || created.status !== 201) return undefined;

  expectProblem(
    createUser({ email: email.toUpperCase(), name: "Twin" }, [409]),
    409,
    "unique_violation",
    "POST /users same email in other case → 409 unique_violation",
  );
  const invalid = createUser({ email: "not-an-email", name: "" }, [400]);
  check(invalid, {
    "POST /users invalid → 400 validation_failed with errors": (r) =>
      isProblem(r, 400, "validation_failed") && (bodyOf<Problem>(r)?.errors?.length ?? 0) > 0,
  });
  expectProblem(
    createUser(
      { email: uniqueEmail(`${fixture.runId}-smoke-extra`), name: "x", role: "admin" },
      [400],
    ),
    400,
    "validation_failed",
    "POST /users unknown field → 400",
  );
  expectProblem(
    createUser(JSON.stringify({ email, name: "x".repeat(1_100_000) }), [413]),
    413,
    "payload_too_large",
    "POST /users over 1 MiB → 413 payload_too_large",
  );

  check(getUser(user.id), {
    "GET /users/{id} → 200 with the user": (r) => bodyOf<User>(r)?.id === user.id,
  });
  expectProblem(getUser(MISSING_ID, [404]), 404, "not_found", "GET /users/{id} unknown → 404");
  check(getUser("not-a-uuid", [400, 404]), {
    "GET /users/{id} malformed id → 400 or 404": (r) => isProblem(r, [400, 404]),
  });

  const first = bodyOf<Page<User>>(listUsers({ limit: 2 }));
  const second =
    typeof first?.nextCursor === "string"
      ? bodyOf<Page<User>>(listUsers({ limit: 2, cursor: first.nextCursor }))
      : undefined;
  check(first, {
    "GET /users?limit=2 → 2 users and a cursor": (page) =>
      page?.items.length === 2 && typeof page.nextCursor === "string",
    "GET /users?cursor → the next page, no repeats": (page) =>
      second !== undefined &&
      second.items.length > 0 &&
      second.items.every((next) => !page?.items.some((previous) => previous.id === next.id)),
  });
  for (const [label, query] of [
    ["limit=0", { limit: 0 }],
    ["limit=101", { limit: 101 }],
    ["malformed cursor", { cursor: "not-a-cursor" }],
  ] as const) {
    expectProblem(listUsers(query, [400]), 400, "validation_failed", `GET /users ${label} → 400`);
  }

  check(updateUser(user.id, { name: "Smoke Renamed" }), {
    "PATCH /users/{id} → 200 with the new name": (r) => bodyOf<User>(r)?.name === "Smoke Renamed",
  });
  expectProblem(
    updateUser(user.id, { name: "" }, [400]),
    400,
    "validation_failed",
    "PATCH /users/{id} invalid → 400",
  );
  expectProblem(
    updateUser(MISSING_ID, { name: "Nobody" }, [404]),
    404,
    "not_found",
    "PATCH /users/{id} unknown → 404",
  );

  const other = bodyOf<User>(
    createUser({ email: uniqueEmail(`${fixture.runId}-smoke-other`), name: "Other" }),
  );
  if (other !== undefined) {
    expectProblem(
      updateUser(other.id, { email: email.toUpperCase() }, [409]),
      409,
      "unique_violation",
      "PATCH /users/{id} taken email → 409 unique_violation",
    );
    check(deleteUser(other.id), { "DELETE /users/{id} → 204": (r) => r.status === 204 });
    expectProblem(deleteUser(other.id, [404]), 404, "not_found", "DELETE /users/{id} again → 404");
  }
  return user;
}

export function checkBulkInsert(fixture: Fixture): void {
  const row = (label: string) => ({
    email: uniqueEmail(`${fixture.runId}-smoke-bulk-${label}`),
    name: `Bulk ${label}`,
  });
  const [a, b, c, d, e] = [row("a"), row("b"), row("c"), row("d"), row("e")] as const;

  check(createUsersBulk({ users: [a, b, c] }), {
    "POST /users/bulk → 201 inserted 3": (r) => bodyOf<{ inserted: number }>(r)?.inserted === 3,
  });
  check(createUsersBulk({ users: [d, { ...d, email: d.email.toUpperCase() }] }, [409]), {
    "POST /users/bulk duplicate within → 409": (r) => isProblem(r, 409),
  });
  check(createUsersBulk({ users: [e, a] }, [409]), {
    "POST /users/bulk existing email → 409": (r) => isProblem(r, 409),
  });
  // All or nothing: d and e were in refused requests, so they must still be free.
  check(createUsersBulk({ users: [d, e] }), {
    "POST /users/bulk after refusals → 201: nothing was inserted by them": (r) =>
      bodyOf<{ inserted: number }>(r)?.inserted === 2,
  });
  check(createUsersBulk({ users: [row("f"), { email: "bad", name: "Bad" }] }, [400]), {
    "POST /users/bulk invalid row → 400 naming its index": (r) =>
      isProblem(r, 400, "validation_failed") &&
      (bodyOf<Problem>(r)?.errors ?? []).some((error) => String(error.path).includes("1")),
  });
  expectProblem(
    createUsersBulk({ users: [] }, [400]),
    400,
    "validation_failed",
    "POST /users/bulk empty → 400",
  );
}
