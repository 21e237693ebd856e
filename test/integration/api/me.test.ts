/**
 * `GET /me/accounts`: a per-user token names the actor, `withActor` runs the read as that user,
 * and row-level security holds it to the user's accounts. Runs on PGlite and a real server
 * (the actor role is no superuser, so the policies hold on a superuser's session too).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { accounts, users } from "../../../src/db/schema/index.js";
import { signActorToken } from "../../../src/security/actor-tokens.js";
import { captureLogs, createTestApp } from "../../setup/app.js";
import { useTestDatabase } from "../../setup/test-database.js";

const SECRET = "actor-secret-0123456789abcdef0123456789";
const testDb = useTestDatabase();
let app: ReturnType<typeof createTestApp>;
let alice: { id: string; accounts: string[] };
let bob: { id: string; accounts: string[] };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function userWithAccounts(name: string, currencies: string[]) {
  const [user] = await testDb.db
    .insert(users)
    .values({ email: `${name}-${crypto.randomUUID()}@example.com`, name })
    .returning();
  const id = user?.id ?? "";
  const rows = await testDb.db
    .insert(accounts)
    .values(currencies.map((currency) => ({ userId: id, currency, balance: 5 })))
    .returning();
  return { id, accounts: rows.map((row) => row.id) };
}

beforeAll(async () => {
  app = createTestApp(testDb.database, captureLogs(), { security: { actorTokenSecret: SECRET } });
  alice = await userWithAccounts("Alice", ["EUR", "USD"]);
  bob = await userWithAccounts("Bob", ["EUR"]);
});

describe("GET /me/accounts", () => {
  it("answers each user's own accounts, and only those", async () => {
    const mine = await app.raw(
      "GET",
      "/me/accounts",
      undefined,
      bearer(signActorToken(SECRET, alice.id)),
    );
    expect(mine.status).toBe(200);
    expect(mine.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const items = mine.body.items as { id: string; userId: string; balance: number }[];
    expect(items.map((a) => a.id).sort()).toEqual([...alice.accounts].sort());
    expect(items.every((a) => a.userId === alice.id && a.balance === 5)).toBe(true);
    const his = await app.raw(
      "GET",
      "/me/accounts",
      undefined,
      bearer(signActorToken(SECRET, bob.id)),
    );
    expect(his.body.items.map((a: { id: string }) => a.id)).toEqual(bob.accounts);
  });

  it("gives a user without accounts an empty list", async () => {
    const nobody = crypto.randomUUID();
    const res = await app.raw(
      "GET",
      "/me/accounts",
      undefined,
      bearer(signActorToken(SECRET, nobody)),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [] });
  });

  it("refuses a missing, malformed or forged token with 401 and a challenge", async () => {
    const missing = await app.raw("GET", "/me/accounts");
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe("unauthorized");
    expect(missing.headers.get("www-authenticate")).toBe("Bearer");
    const malformed = await app.raw("GET", "/me/accounts", undefined, {
      authorization: "Basic eA==",
    });
    expect(malformed.headers.get("www-authenticate")).toBe('Bearer error="invalid_request"');
    // Alice's signature on Bob's id, another secret's token, an API-style token.
    const [, aliceMac] = signActorToken(SECRET, alice.id).split(".");
    for (const forged of [
      `${bob.id}.${aliceMac}`,
      signActorToken("another-secret-0123456789abcdef012345", alice.id),
      "write-token-0123456789abcdef0123456789",
    ]) {
      const res = await app.raw("GET", "/me/accounts", undefined, bearer(forged));
      expect(res.status, forged).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
      expect(JSON.stringify(res.body)).not.toContain(alice.id);
    }
  });

  it("refuses every token when the server has no ACTOR_TOKEN_SECRET", async () => {
    const open = createTestApp(testDb.database);
    const res = await open.raw(
      "GET",
      "/me/accounts",
      undefined,
      bearer(signActorToken(SECRET, alice.id)),
    );
    expect(res.status).toBe(401);
  });

  it("is in the OpenAPI document with its own security scheme", async () => {
    const doc = (await app.raw("GET", "/openapi.json")).body;
    const operation = doc.paths["/me/accounts"].get;
    expect(operation.security).toEqual([{ actorToken: [] }]);
    expect(Object.keys(operation.responses)).toEqual(["200", "401", "429", "503"]);
    expect(doc.components.securitySchemes.actorToken).toMatchObject({
      type: "http",
      scheme: "bearer",
    });
    expect(doc.components.securitySchemes.bearerAuth).toBeDefined();
  });
});
