/** The accounts routes' handlers, each typed by its contract in `accounts.routes.ts`. */
import { cacheKey, type ResultCache, readsFor } from "../../../cache/index.js";
import type { AppDatabase } from "../../../db/client.js";
import {
  createAccount,
  getAccount,
  listAccountTransfers,
  listUserAccounts,
} from "../../../db/repositories/accounts.js";
import { getUser } from "../../../db/repositories/users.js";
import type { Account as AccountRow } from "../../../db/schema/index.js";
import { NotFoundError } from "../../../domain-errors.js";
import { JSON_UTF8 } from "../../openapi-helpers.js";
import { inRequestTransaction, type TransactionOptionsFor } from "../../request-transaction.js";
import type { AppRouteHandler } from "../../router.js";
import { toIso } from "../../schemas.js";
import { toTransferDto } from "../transfers/transfers.handlers.js";
import type * as routes from "./accounts.routes.js";

export interface AccountsDeps {
  db: AppDatabase;
  /** Options of the transaction an account is opened in, which the audit log reads. */
  transactionOptions: TransactionOptionsFor;
  /**
   * Read-through cache of GET /accounts/{id} (src/cache); undefined: off. Transfers invalidate
   * the balances they move (transfers.handlers.ts).
   */
  cache?: ResultCache | undefined;
}

export const toAccountDto = (a: AccountRow) => ({
  id: a.id,
  userId: a.userId,
  currency: a.currency,
  balance: a.balance,
  createdAt: toIso(a.createdAt),
});

export function createAccountsHandlers({ db, cache, transactionOptions }: AccountsDeps) {
  const create: AppRouteHandler<typeof routes.create> = async (c) => {
    const input = c.req.valid("json");
    const account = await inRequestTransaction(c, db, transactionOptions, (tx) =>
      createAccount(tx, input),
    );
    c.header("Location", `/accounts/${account.id}`);
    return c.json(toAccountDto(account), 201, JSON_UTF8);
  };

  const getOne: AppRouteHandler<typeof routes.getOne> = async (c) => {
    const { id } = c.req.valid("param");
    const load = async () => {
      const row = await getAccount(readsFor(db, cache), id);
      return row && toAccountDto(row);
    };
    const account = cache ? await cache.get(cacheKey.account(id), load) : await load();
    if (!account) throw new NotFoundError("account");
    return c.json(account, 200, JSON_UTF8);
  };

  const listOfUser: AppRouteHandler<typeof routes.listOfUser> = async (c) => {
    const { id } = c.req.valid("param");
    const items = await listUserAccounts(db, id);
    // An empty list is ambiguous: tell "no accounts" from "no such user".
    if (items.length === 0 && !(await getUser(db, id))) throw new NotFoundError("user");
    return c.json({ items: items.map(toAccountDto) }, 200, JSON_UTF8);
  };

  const listTransfers: AppRouteHandler<typeof routes.listTransfers> = async (c) => {
    const { id } = c.req.valid("param");
    const page = await listAccountTransfers(db, id, c.req.valid("query"));
    if (page.items.length === 0 && !(await getAccount(db, id))) {
      throw new NotFoundError("account");
    }
    return c.json(
      { items: page.items.map(toTransferDto), nextCursor: page.nextCursor },
      200,
      JSON_UTF8,
    );
  };

  return { create, getOne, listOfUser, listTransfers };
}
