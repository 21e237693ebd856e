import { describe, expect, it } from "vitest";
import { expectStatus, useTestApp } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const testDb = useTestDatabase();
const api = useTestApp(testDb);
let counter = 0;
const uniqueEmail = (tag = "u") => `${tag}-${Date.now()}-${counter++}@example.com`;
const createUser = (email = uniqueEmail(), name = "A") =>
  expectStatus(api.client.users.$post({ json: { email, name } }), 201);

describe("POST /users", () => {
  it("creates a user, trims the email and answers 201 with Location", async () => {
    const email = uniqueEmail();
    const res = await api.client.users.$post({ json: { email: `  ${email}  `, name: "Ada" } });
    expect(res.headers.get("location")).toMatch(/^\/users\/[0-9a-f-]{36}$/);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    const user = await expectStatus(res, 201);
    expect(user).toMatchObject({ email, name: "Ada" });
    expect(res.headers.get("location")).toBe(`/users/${user.id}`);
    expect(new Date(user.createdAt).toISOString()).toBe(user.createdAt);
  });

  it("rejects a duplicate email regardless of case with 409 unique_violation", async () => {
    const email = uniqueEmail("Dup");
    await createUser(email);
    const res = await api.client.users.$post({ json: { email: email.toUpperCase(), name: "B" } });
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const problem = await expectStatus(res, 409);
    expect(problem).toMatchObject({ status: 409, code: "unique_violation" });
    expect(JSON.stringify(problem)).not.toContain(email.toLowerCase());
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
    // Raw: several of these bodies are not of the contract's type, which the typed client refuses.
    const res = await api.raw("POST", "/users", body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_failed");
    expect(Array.isArray(res.body.errors)).toBe(true);
  });

  it("answers 400 for malformed JSON", async () => {
    // Raw: the typed client always sends well-formed JSON.
    const res = await api.raw("POST", "/users", '{"email":');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_failed");
  });

  it("answers 413 for a body over 1 MiB", async () => {
    const res = api.client.users.$post({ json: { email: "a@b.co", name: "x".repeat(1_100_000) } });
    expect((await expectStatus(res, 413)).code).toBe("payload_too_large");
  });
});

describe("GET/PATCH/DELETE /users/{id}", () => {
  const user = () => api.client.users[":id"];

  it("reads, updates and deletes a user", async () => {
    const created = await createUser(uniqueEmail(), "Old");
    const param = { id: created.id };
    expect(await expectStatus(user().$get({ param }), 200)).toEqual(created);

    const patched = await expectStatus(user().$patch({ param, json: { name: "New" } }), 200);
    expect(patched).toMatchObject({ id: created.id, name: "New", email: created.email });
    expect(Date.parse(patched.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));

    await expectStatus(user().$delete({ param }), 204);
    await expectStatus(user().$get({ param }), 404);
    await expectStatus(user().$delete({ param }), 404);
  });

  it("answers 404 for an unknown id and 400 for a malformed one", async () => {
    const missing = { id: "00000000-0000-4000-8000-000000000000" };
    expect((await expectStatus(user().$get({ param: missing }), 404)).code).toBe("not_found");
    await expectStatus(user().$get({ param: { id: "not-a-uuid" } }), 400);
    await expectStatus(user().$patch({ param: missing, json: { name: "x" } }), 404);
  });

  it("PATCH to another user's email is 409", async () => {
    const a = await createUser();
    const b = await createUser();
    const res = user().$patch({ param: { id: b.id }, json: { email: a.email.toUpperCase() } });
    expect((await expectStatus(res, 409)).code).toBe("unique_violation");
  });

  it("DELETE of a user with accounts is 409 conflict", async () => {
    const owner = await createUser();
    await expectStatus(
      api.client.accounts.$post({ json: { userId: owner.id, currency: "EUR" } }),
      201,
    );
    expect((await expectStatus(user().$delete({ param: { id: owner.id } }), 409)).code).toBe(
      "conflict",
    );
  });
});

describe("GET /users pagination", () => {
  it("walks every user exactly once while users are inserted concurrently", async () => {
    const tag = `page${Date.now()}`;
    const users = Array.from({ length: 45 }, (_, i) => ({
      email: `${tag}-${i}@example.com`,
      name: `P${i}`,
    }));
    const before = await expectStatus(api.client.users.bulk.$post({ json: { users } }), 201);
    expect(before).toEqual({ inserted: 45 });

    const all = new Map<string, number>();
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await expectStatus(api.client.users.$get({ query: { limit: 7, cursor } }), 200);
      for (const u of page.items) {
        all.set(u.id, (all.get(u.id) ?? 0) + 1);
        seen.push(u.createdAt);
      }
      // Concurrent inserts while walking must not disturb the walk.
      await createUser(uniqueEmail("during"), "D");
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor && pages < 100);

    expect([...all.values()].every((n) => n === 1)).toBe(true);
    expect(all.size).toBeGreaterThanOrEqual(45);
    expect([...seen]).toEqual([...seen].sort());
  });

  it.each([
    { limit: "0" },
    { limit: "101" },
    { limit: "abc" },
    { cursor: "%%%" },
    { cursor: "bm90LWEtY3Vyc29y" },
  ])("rejects %o with 400", async (query) => {
    const problem = await expectStatus(api.client.users.$get({ query }), 400);
    expect(problem.code).toBe("validation_failed");
  });
});

describe("POST /users/bulk", () => {
  it("is all or nothing on an in-batch duplicate (409) and names the bad index (400)", async () => {
    const tag = `bulk${Date.now()}`;
    const bulk = api.client.users.bulk;
    await expectStatus(
      bulk.$post({
        json: {
          users: [
            { email: `${tag}-a@example.com`, name: "A" },
            { email: `${tag}-A@EXAMPLE.com`, name: "B" },
          ],
        },
      }),
      409,
    );
    const list = await expectStatus(api.client.users.$get({ query: { limit: 100 } }), 200);
    expect(JSON.stringify(list)).not.toContain(tag);

    const bad = bulk.$post({
      json: {
        users: [
          { email: `${tag}-ok@example.com`, name: "ok" },
          { email: "nope", name: "x" },
        ],
      },
    });
    expect((await expectStatus(bad, 400)).errors?.[0]?.path).toBe("users.1.email");
  });

  it("rejects more than 10,000 items and an empty list", async () => {
    const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ email: `m${i}@x.io`, name: "m" }));
    await expectStatus(api.client.users.bulk.$post({ json: { users: tooMany } }), 400);
    await expectStatus(api.client.users.bulk.$post({ json: { users: [] } }), 400);
  });
});
