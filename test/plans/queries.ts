/**
 * The demo's hot queries, by name, each run through the repository code the API calls: the
 * plan tests (test/plans/plans.test.ts) explain every statement it sends on a database at
 * realistic size and hold it to its budget (test/plans/budgets.json); the hygiene tests
 * (test/integration/plans/) check that its values travel as bound parameters.
 *
 * To protect a new query, add one line here, then `npm run plans:update` and review the new
 * entry in budgets.json.
 */
import type { AppDatabase } from "../../src/db/client.js";
import {
  getAccount,
  listAccountTransfers,
  listUserAccounts,
} from "../../src/db/repositories/accounts.js";
import { getStats } from "../../src/db/repositories/stats.js";
import { createTransfer, getTransfer } from "../../src/db/repositories/transfers.js";
import { getUser, listUsers } from "../../src/db/repositories/users.js";
import type { Sample } from "./samples.js";

export interface PlannedQuery {
  /** Its key in budgets.json. */
  name: string;
  /** Runs the query as the API does, with the sample's values. */
  run: (db: AppDatabase, sample: Sample) => Promise<unknown>;
  /** The prepared statement it runs as (`preparedStatement(name, ...)` in the repository). */
  prepared?: string;
  /**
   * Tables the query reads in full on purpose. A sequential scan of any other large table
   * fails the test; this list is reviewed code, never written by `plans:update`.
   */
  fullScans?: readonly string[];
}

export const PLANNED_QUERIES: readonly PlannedQuery[] = [
  { name: "user_by_id", prepared: "user_by_id", run: (db, s) => getUser(db, s.userId) },
  { name: "users_first_page", run: (db, s) => listUsers(db, { limit: s.pageSize }) },
  {
    name: "users_next_page",
    run: (db, s) => listUsers(db, { limit: s.pageSize, cursor: s.usersCursor }),
  },
  { name: "user_accounts", run: (db, s) => listUserAccounts(db, s.userId) },
  { name: "account_by_id", prepared: "account_by_id", run: (db, s) => getAccount(db, s.accountId) },
  {
    name: "account_transfers_first_page",
    run: (db, s) => listAccountTransfers(db, s.accountId, { limit: s.pageSize }),
  },
  {
    name: "account_transfers_next_page",
    run: (db, s) =>
      listAccountTransfers(db, s.accountId, {
        limit: s.pageSize,
        cursor: s.accountTransfersCursor,
      }),
  },
  {
    name: "transfer_by_id",
    prepared: "transfer_by_id",
    run: (db, s) => getTransfer(db, s.transferId),
  },
  {
    // The idempotency lookups, the row locks, both balance updates and the insert.
    name: "transfer_create",
    run: (db, s) => createTransfer(db, s.newTransfer, s.newTransfer.key),
  },
  {
    // Counts every row by design: one snapshot for all totals (see stats.ts).
    name: "stats",
    run: (db) => getStats(db),
    fullScans: ["users", "accounts", "transfers"],
  },
];
