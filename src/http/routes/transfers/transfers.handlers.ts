/** The transfers routes' handlers, each typed by its contract in `transfers.routes.ts`. */
import { cacheKey, type ResultCache } from "../../../cache/index.js";
import type { AppDatabase } from "../../../db/client.js";
import { createTransfer, getTransfer } from "../../../db/repositories/transfers.js";
import type { Transfer as TransferRow } from "../../../db/schema/index.js";
import type { TransactionOptions } from "../../../db/transaction.js";
import { NotFoundError } from "../../../domain-errors.js";
import { JSON_UTF8 } from "../../openapi-helpers.js";
import type { AppRouteHandler } from "../../router.js";
import { toIso } from "../../schemas.js";
import type * as routes from "./transfers.routes.js";

export interface TransfersDeps {
  db: AppDatabase;
  /**
   * Per request, so that the lines its hooks log carry the request id, and the audit log the
   * request id and the actor (`c.var.actor`).
   */
  transactionOptions: (requestId: string, actor?: string) => TransactionOptions;
  /** The result cache holding account balances (src/cache); undefined: off. */
  cache?: ResultCache | undefined;
}

/** Also the items of an account's transfer list (`accounts.handlers.ts`). */
export const toTransferDto = (t: TransferRow) => ({
  id: t.id,
  fromAccountId: t.fromAccountId,
  toAccountId: t.toAccountId,
  amount: t.amount,
  currency: t.currency,
  createdAt: toIso(t.createdAt),
});

export function createTransfersHandlers({ db, transactionOptions, cache }: TransfersDeps) {
  const create: AppRouteHandler<typeof routes.create> = async (c) => {
    const { transfer } = await createTransfer(
      db,
      c.req.valid("json"),
      c.req.valid("header")["idempotency-key"],
      {
        ...transactionOptions(c.var.requestId, c.var.actor),
        // Both balances moved: drop them once the transfer has committed, before we answer.
        afterCommit: cache
          ? (moved) =>
              cache.invalidate([
                cacheKey.account(moved.fromAccountId),
                cacheKey.account(moved.toAccountId),
              ])
          : undefined,
      },
    );
    c.header("Location", `/transfers/${transfer.id}`);
    return c.json(toTransferDto(transfer), 201, JSON_UTF8);
  };

  const getOne: AppRouteHandler<typeof routes.getOne> = async (c) => {
    const transfer = await getTransfer(db, c.req.valid("param").id);
    if (!transfer) throw new NotFoundError("transfer");
    return c.json(toTransferDto(transfer), 200, JSON_UTF8);
  };

  return { create, getOne };
}
