/** The accounts routes' handlers, each typed by its contract in `accounts.routes.ts`. */
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
import type { AppRouteHandler } from "../../router.js";
import { toIso } from "../../schemas.js";
import { toTransferDto } from "../transfers/transfers.handlers.js";
import type * as routes from "./accounts.routes.js";

export interface AccountsDeps {
  db: AppDatabase;
}

const toAccountDto = (a: AccountRow) => ({
  id: a.id,
  userId: a.userId,
  currency: a.currency,
  balance: a.balance,
  createdAt: toIso(a.createdAt),
});

export function createAccountsHandlers({ db }: AccountsDeps) {
  const create: AppRouteHandler<typeof routes.create> = async (c) => {
    const account = await createAccount(db, c.req.valid("json"));
    c.header("Location", `/accounts/${account.id}`);
    return c.json(toAccountDto(account), 201, JSON_UTF8);
  };

  const getOne: AppRouteHandler<typeof routes.getOne> = async (c) => {
    const account = await getAccount(db, c.req.valid("param").id);
    if (!account) throw new NotFoundError("account");
    return c.json(toAccountDto(account), 200, JSON_UTF8);
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
