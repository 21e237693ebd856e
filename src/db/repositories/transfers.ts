import { createHash } from "node:crypto";
import { asc, eq, inArray, sql } from "drizzle-orm";
import {
  CurrencyMismatchError,
  IdempotencyKeyReusedError,
  InsufficientFundsError,
  NotFoundError,
} from "../../domain-errors.js";
import type { AppDatabase } from "../client.js";
import { UniqueViolationError } from "../errors.js";
import { primaryOf } from "../replicas.js";
import { accounts, type Transfer, transfers } from "../schema/index.js";
import { preparedStatement } from "../statements.js";
import { type TransactionOptions, withTransaction } from "../transaction.js";

export interface TransferInput {
  fromAccountId: string;
  toAccountId: string;
  amount: number;
}

export interface TransferResult {
  transfer: Transfer;
  /** True when an earlier request with the same Idempotency-Key created `transfer`. */
  replayed: boolean;
}

export interface TransferOptions extends TransactionOptions {
  /**
   * Runs once after the transaction that moved the money commits (never on a rollback, a retried
   * attempt or a replay, which move nothing), before `createTransfer` returns: e.g. invalidate
   * cached balances.
   */
  afterCommit?: ((transfer: Transfer) => unknown) | undefined;
}

const IDEMPOTENCY_CONSTRAINT = "transfers_idempotency_key_key";

/** SHA-256 of the fields that define a transfer, in a fixed order. */
export function transferRequestHash(input: TransferInput): string {
  return createHash("sha256")
    .update(JSON.stringify([input.fromAccountId, input.toAccountId, input.amount]))
    .digest("hex");
}

/**
 * Moves `amount` between two accounts in one transaction: both rows are locked with
 * `SELECT ... FOR UPDATE` in id order (so two opposite transfers can't deadlock), checked,
 * debited and credited, and the transfer is stored. With an idempotency key, a replay of the
 * same body returns the stored transfer and moves nothing; the unique index on the key is what
 * makes concurrent replays safe, the lookups only make the common case cheap.
 */
export async function createTransfer(
  db: AppDatabase,
  input: TransferInput,
  idempotencyKey?: string,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const requestHash = idempotencyKey ? transferRequestHash(input) : null;
  if (idempotencyKey && requestHash) {
    const earlier = await findByIdempotencyKey(db, idempotencyKey);
    if (earlier) return replay(earlier, requestHash);
  }
  try {
    return await withTransaction(
      db,
      async (tx, { afterCommit }) => {
        const locked = await tx
          .select({ id: accounts.id, currency: accounts.currency, balance: accounts.balance })
          .from(accounts)
          .where(inArray(accounts.id, [input.fromAccountId, input.toAccountId]))
          .orderBy(asc(accounts.id))
          .for("update");
        const from = locked.find((a) => a.id === input.fromAccountId);
        const to = locked.find((a) => a.id === input.toAccountId);
        if (!from || !to) throw new NotFoundError("account");

        if (idempotencyKey && requestHash) {
          // A concurrent replay may have committed while we waited for the row locks.
          const earlier = await findByIdempotencyKey(tx, idempotencyKey);
          if (earlier) return replay(earlier, requestHash);
        }
        if (from.currency !== to.currency) throw new CurrencyMismatchError();
        if (from.balance < input.amount) throw new InsufficientFundsError();

        await tx
          .update(accounts)
          .set({ balance: sql`${accounts.balance} - ${input.amount}` })
          .where(eq(accounts.id, from.id));
        await tx
          .update(accounts)
          .set({ balance: sql`${accounts.balance} + ${input.amount}` })
          .where(eq(accounts.id, to.id));
        const [transfer] = await tx
          .insert(transfers)
          .values({ ...input, currency: from.currency, idempotencyKey, requestHash })
          .returning();
        if (!transfer) throw new Error("INSERT ... RETURNING returned no row");
        const { afterCommit: onCommitted } = options;
        if (onCommitted) afterCommit(() => onCommitted(transfer));
        return { transfer, replayed: false };
      },
      options,
    );
  } catch (error) {
    // Two first requests with one key raced past the lookups: the index let one commit.
    if (
      idempotencyKey &&
      requestHash &&
      error instanceof UniqueViolationError &&
      error.constraint === IDEMPOTENCY_CONSTRAINT
    ) {
      const earlier = await findByIdempotencyKey(db, idempotencyKey);
      if (earlier) return replay(earlier, requestHash);
    }
    throw error;
  }
}

function replay(earlier: Transfer, requestHash: string): TransferResult {
  if (earlier.requestHash !== requestHash) throw new IdempotencyKeyReusedError();
  return { transfer: earlier, replayed: true };
}

/** On the primary: the transfer that holds the key may have committed a moment ago. */
async function findByIdempotencyKey(db: AppDatabase, key: string): Promise<Transfer | undefined> {
  const [row] = await primaryOf(db)
    .select()
    .from(transfers)
    .where(eq(transfers.idempotencyKey, key));
  return row;
}

const transferById = preparedStatement("transfer_by_id", (db, name) =>
  db
    .select()
    .from(transfers)
    .where(eq(transfers.id, sql.placeholder("id")))
    .prepare(name),
);

export async function getTransfer(db: AppDatabase, id: string): Promise<Transfer | undefined> {
  const [row] = await transferById(db).execute({ id });
  return row;
}
