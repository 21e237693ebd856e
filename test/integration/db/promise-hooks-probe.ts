/**
 * Run in a child process by `async-context.test.ts` (a fresh process: the test runner's own may
 * have promise hooks on already). Runs a transaction with a savepoint through `createDatabase`,
 * on the server at argv[2] or else on PGlite, and prints whether promise hooks were on before
 * and after. Inside a promise continuation `executionAsyncId()` is 0 unless they are: Node 20
 * turns them on for the first AsyncLocalStorage `run()`/`enterWith()` and leaves them on.
 */
import { executionAsyncId } from "node:async_hooks";
import { sql } from "drizzle-orm";
import { createDatabase } from "../../../src/db/client.js";
import { initdbSnapshot, loadSnapshot } from "../../../src/db/pglite-snapshot.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { parseConfig } from "../../../src/env.js";

const promiseHooksOn = async () => {
  await null;
  return executionAsyncId() !== 0;
};

const url = process.argv[2];
const before = await promiseHooksOn();
const database = await createDatabase(
  parseConfig(
    url
      ? { DATABASE_URL: url, NODE_ENV: "test" }
      : { PGLITE_DATA_DIR: "memory://", NODE_ENV: "test" },
  ).database,
  // The cached initdb snapshot (the global setup built it): initdb would be most of the run.
  url ? {} : { pgliteSnapshot: loadSnapshot(await initdbSnapshot()) },
);
try {
  await withTransaction(database.db, async (tx) => {
    await tx.execute(sql`select 1`);
    await withTransaction(tx, (sp) => sp.execute(sql`select 1`));
  });
  await database.db.execute(sql`select 1`);
} finally {
  await database.close();
}
console.log(JSON.stringify({ before, after: await promiseHooksOn() }));
