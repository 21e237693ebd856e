/**
 * On Node 20 AsyncLocalStorage works through promise hooks: after the first `run()` or
 * `enterWith()` in a process, every promise and nextTick pays a hook, which cost the demo API
 * about a fifth of its GET throughput. The data layer must not be what turns them on: a
 * transaction, its savepoints and its queries carry their state on the transaction's client.
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Database } from "../../../src/db/client.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { usePglite } from "./helpers.js";

const testDb = useTestDatabase();
const pglite = usePglite();

function spyOnAsyncLocalStorage() {
  return {
    run: vi.spyOn(AsyncLocalStorage.prototype, "run"),
    enterWith: vi.spyOn(AsyncLocalStorage.prototype, "enterWith"),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

function transactionCases(database: () => Database) {
  it("runs a transaction, a savepoint and their queries without AsyncLocalStorage", async () => {
    const { db } = database();
    const spies = spyOnAsyncLocalStorage();
    await withTransaction(db, async (tx, { afterCommit }) => {
      await tx.execute(sql`select 1`);
      await withTransaction(tx, async (sp) => {
        await sp.execute(sql`select 1`);
        // A failed savepoint too: its rollback path.
        await withTransaction(sp, async () => {
          throw new Error("inner part fails");
        }).catch(() => undefined);
      });
      afterCommit(() => undefined);
    });
    await db.execute(sql`select 1`);
    expect(spies.run).not.toHaveBeenCalled();
    expect(spies.enterWith).not.toHaveBeenCalled();
  });

  it("uses it only for an explicit poolTimeoutMs (the spies do see it)", async () => {
    const { db } = database();
    const spies = spyOnAsyncLocalStorage();
    await withTransaction(db, (tx) => tx.execute(sql`select 1`), { poolTimeoutMs: 1_000 });
    expect(spies.run).toHaveBeenCalled();
  });
}

describe("no AsyncLocalStorage on embedded PGlite", () => {
  transactionCases(pglite);
});

describe.skipIf(!onRealServer())(`no AsyncLocalStorage on postgres.js (${NEEDS_SERVER})`, () => {
  transactionCases(() => testDb.database);
});

/** Runs `promise-hooks-probe.ts` in a fresh Node process; `url` picks postgres.js over PGlite. */
async function probe(url?: string): Promise<{ before: boolean; after: boolean }> {
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  const script = fileURLToPath(new URL("./promise-hooks-probe.ts", import.meta.url));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", script, ...(url ? [url] : [])],
    { cwd: root, timeout: 60_000 },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
}

describe("promise hooks stay off in a process that ran a transaction", () => {
  it("on PGlite", async () => {
    expect(await probe()).toEqual({ before: false, after: false });
  });

  it.skipIf(!onRealServer())(`on postgres.js (${NEEDS_SERVER})`, async () => {
    expect(await probe(testDb.url)).toEqual({ before: false, after: false });
  });
});
