/**
 * Helpers for the audit log tests: a ledger written through the API with a token (so entries
 * carry an actor and request ids), tampering as the database's owner would do it (triggers
 * disabled around the edit), and `db:audit` as a child process.
 */
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { expect } from "vitest";
import type { AppDatabase, Database } from "../../../src/db/client.js";
import { createTestApp } from "../../setup/app.js";
import { runEntry } from "../../setup/run-cli.js";

export const TOKEN = "audit-test-token-0123456789abcdef0123456789";
/** The actor the app records for TOKEN (src/security/tokens.ts). */
export const TOKEN_ACTOR = `token:${createHash("sha256").update(TOKEN).digest("hex").slice(0, 8)}`;

let n = 0;

/**
 * Through the API: a user, two EUR accounts (1,000 and 0), `transfers` transfers of 10 from the
 * first to the second, sent concurrently. Entries: 3 + 3 per transfer.
 */
export async function writeLedger(database: Database, transfers = 1) {
  const { raw } = createTestApp(database, undefined, { security: { apiTokens: [TOKEN] } });
  const write = async (path: string, body: unknown, requestId: string) => {
    const res = await raw("POST", path, body, {
      authorization: `Bearer ${TOKEN}`,
      "x-request-id": requestId,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string };
  };
  const user = await write("/users", { email: `audit-${n++}@example.com`, name: "A" }, "req-user");
  const open = (initialBalance: number, requestId: string) =>
    write("/accounts", { userId: user.id, currency: "EUR", initialBalance }, requestId);
  const from = await open(1_000, "req-from");
  const to = await open(0, "req-to");
  await Promise.all(
    Array.from({ length: transfers }, (_, i) =>
      write("/transfers", { fromAccountId: from.id, toAccountId: to.id, amount: 10 }, `req-t${i}`),
    ),
  );
  return { user, from, to };
}

/** Runs `statements` in one transaction with the audit log's guard triggers off, as an owner can. */
export async function tamper(db: AppDatabase, ...statements: string[]) {
  await db.transaction(async (tx) => {
    await tx.execute(sql.raw("alter table audit_log disable trigger audit_log_append_only"));
    await tx.execute(sql.raw("alter table audit_chain disable trigger audit_chain_append_only"));
    for (const statement of statements) await tx.execute(sql.raw(statement));
    await tx.execute(sql.raw("alter table audit_log enable trigger audit_log_append_only"));
    await tx.execute(sql.raw("alter table audit_chain enable trigger audit_chain_append_only"));
  });
}

/** `npm run db:audit -- ...args` as a process, with `env` as its whole environment. */
export const runAuditCli = (args: readonly string[], env: Record<string, string>) =>
  runEntry("src/cli/audit.ts", args, env);
