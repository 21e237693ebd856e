import { describe, expect, it } from "vitest";
import { createTestApp } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const testDb = useTestDatabase();
const api = () => createTestApp(testDb.database).json;
let counter = 0;
const uniqueEmail = (tag = "u") => `${tag}-${Date.now()}-${counter++}@example.com`;

describe("POST /users", () => {
  it("creates a user, trims the email and answers 201 with Location", async () => {
    const email = uniqueEmail();
    const res = await api()("POST", "/users", { email: `  ${email}  `, name: "Ada" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email, name: "Ada" });
    expect(res.headers.get("location")).toBe(`/users/${res.body.id}`);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(new Date(res.body.createdAt).toISOString()).toBe(res.body.createdAt);
  });

  it("rejects a duplicate email regardless of case with 409 unique_violation", async () => {
    const email = uniqueEmail("Dup");
    expect((await api()("POST", "/users", { email, name: "A" })).status).toBe(201);
    const res = await api()("POST", "/users", { email: email.toUpperCase(), name: "B" });
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body).toMatchObject({ status: 409, code: "unique_violation" });
    expect(JSON.stringify(res.body)).not.toContain(email.toLowerCase());
  });

  it.each([
    ["missing name", { email: "a@b.co" }],
    ["empty name", { email: "a@b.co", name: "" }],
    ["long name", { email: "a@b.co", name: "x".repeat(201) }],
    ["bad email", { email: "not-an-email", name: "A" }],
    ["wrong type", { email: 42, name: "A" }],
    ["unknown field", { email: "a@b.co", name: "A", admin: true }],
    ["NUL in name", { email: "a@b.co", name: "a\u0000b" }],
    ["array body", [1, 2]],
  ])("answers 400 validation_failed for %s", async (_case, body) => {
    const res = await api()("POST", "/users", body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_failed");
    expect(Array.isArray(res.body.errors)).toBe(true);
  });

  it("answers 400 for malformed JSON", async () => {
    const res = await api()("POST", "/users", '{"email":');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_failed");
  });

  it("answers 413 for a body over 1 MiB", async () => {
    const res = await api()("POST", "/users", { email: "a@b.co", name: "x".repeat(1_100_000) });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe("payload_too_large");
  });
});

describe("GET/PATCH/DELETE /users/{id}", () => {
  it("reads, updates and deletes a user", async () => {
    const created = (await api()("POST", "/users", { email: uniqueEmail(), name: "Old" })).body;
    expect((await api()("GET", `/users/${created.id}`)).body).toEqual(created);

    const patched = await api()("PATCH", `/users/${created.id}`, { name: "New" });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: created.id, name: "New", email: created.email });
    expect(Date.parse(patched.body.updatedAt)).toBeGreaterThanOrEqual(
      Date.parse(created.updatedAt),
    );

    expect((await api()("DELETE", `/users/${created.id}`)).status).toBe(204);
    expect((await api()("GET", `/users/${created.id}`)).status).toBe(404);
    expect((await api()("DELETE", `/users/${created.id}`)).status).toBe(404);
  });

  it("answers 404 for an unknown id and 400 for a malformed one", async () => {
    const missing = await api()("GET", "/users/00000000-0000-4000-8000-000000000000");
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("not_found");
    expect((await api()("GET", "/users/not-a-uuid")).status).toBe(400);
    expect(
      (await api()("PATCH", "/users/00000000-0000-4000-8000-000000000000", { name: "x" })).status,
    ).toBe(404);
  });

  it("PATCH to another user's email is 409", async () => {
    const a = (await api()("POST", "/users", { email: uniqueEmail(), name: "A" })).body;
    const b = (await api()("POST", "/users", { email: uniqueEmail(), name: "B" })).body;
    const res = await api()("PATCH", `/users/${b.id}`, { email: a.email.toUpperCase() });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("unique_violation");
  });

  it("DELETE of a user with accounts is 409 conflict", async () => {
    const user = (await api()("POST", "/users", { email: uniqueEmail(), name: "A" })).body;
    expect((await api()("POST", "/accounts", { userId: user.id, currency: "EUR" })).status).toBe(
      201,
    );
    const res = await api()("DELETE", `/users/${user.id}`);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("conflict");
  });
});

describe("GET /users pagination", () => {
  it("walks every user exactly once while users are inserted concurrently", async () => {
    const tag = `page${Date.now()}`;
    const before = await api()("POST", "/users/bulk", {
      users: Array.from({ length: 45 }, (_, i) => ({
        email: `${tag}-${i}@example.com`,
        name: `P${i}`,
      })),
    });
    expect(before.body).toEqual({ inserted: 45 });

    const all = new Map<string, number>();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : "";
      const res = await api()("GET", `/users?limit=7${query}`);
      expect(res.status).toBe(200);
      for (const u of res.body.items) {
        all.set(u.id, (all.get(u.id) ?? 0) + 1);
        seen.push(u.createdAt);
      }
      // Concurrent inserts while walking must not disturb the walk.
      await api()("POST", "/users", { email: uniqueEmail("during"), name: "D" });
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 100);

    expect([...all.values()].every((n) => n === 1)).toBe(true);
    const emails = new Set<string>();
    for (const id of all.keys()) emails.add(id);
    expect(all.size).toBeGreaterThanOrEqual(45);
    expect([...seen]).toEqual([...seen].sort());
  });

  it.each(["limit=0", "limit=101", "limit=abc", "cursor=%%%", "cursor=bm90LWEtY3Vyc29y"])(
    "rejects %s with 400",
    async (query) => {
      const res = await api()("GET", `/users?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("validation_failed");
    },
  );
});

describe("POST /users/bulk", () => {
  it("is all or nothing on an in-batch duplicate (409) and names the bad index (400)", async () => {
    const tag = `bulk${Date.now()}`;
    const dup = await api()("POST", "/users/bulk", {
      users: [
        { email: `${tag}-a@example.com`, name: "A" },
        { email: `${tag}-A@EXAMPLE.com`, name: "B" },
      ],
    });
    expect(dup.status).toBe(409);
    const list = await api()("GET", "/users?limit=100");
    expect(JSON.stringify(list.body)).not.toContain(tag);

    const bad = await api()("POST", "/users/bulk", {
      users: [
        { email: `${tag}-ok@example.com`, name: "ok" },
        { email: "nope", name: "x" },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("users.1.email");
  });

  it("rejects more than 10,000 items and an empty list", async () => {
    const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ email: `m${i}@x.io`, name: "m" }));
    expect((await api()("POST", "/users/bulk", { users: tooMany })).status).toBe(400);
    expect((await api()("POST", "/users/bulk", { users: [] })).status).toBe(400);
  });
});
