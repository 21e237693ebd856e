/**
 * The PGlite client Drizzle talks to: PGlite's documented `query(text, params, options)` and
 * `transaction(callback)` behind the template's pool gate (one connection: PGlite runs one
 * query at a time), timed and reported like postgres.js queries. Drizzle's pglite driver uses
 * exactly those two methods and a transaction's `query`; `checkDrizzleDriverShape` verifies it
 * at start-up. The PGlite instance itself is not modified.
 */
import type { PGlite, QueryOptions, Results, Transaction } from "@electric-sql/pglite";
import { TransactionEndedError } from "../errors.js";
import { type DriverContext, reportQuery, reportTransaction } from "./context.js";
import { newActivity, type TransactionScope } from "./instrumented-query.js";

type Params = unknown[] | undefined;

export interface InstrumentedPgliteTransaction {
  query<T>(text: string, params?: Params, options?: QueryOptions): Promise<Results<T>>;
}

/** The database as Drizzle sees it (`db.$client`). */
export interface InstrumentedPglite extends InstrumentedPgliteTransaction {
  transaction<T>(callback: (tx: InstrumentedPgliteTransaction) => Promise<T>): Promise<T>;
}

export function instrumentPglite(pglite: PGlite, context: DriverContext): InstrumentedPglite {
  return {
    query: async <T>(text: string, params?: Params, options?: QueryOptions) => {
      const lease = await context.gate.acquire("query");
      try {
        return await timed(context, false, text, params, () =>
          pglite.query<T>(text, params, options),
        );
      } finally {
        lease.release();
      }
    },
    transaction: async <T>(callback: (tx: InstrumentedPgliteTransaction) => Promise<T>) => {
      const lease = await context.gate.acquire("transaction");
      const startedAt = Date.now();
      const started = performance.now();
      const scope: TransactionScope = { ended: false, connection: newActivity() };
      try {
        const result = await pglite.transaction((tx) =>
          callback(transactionClient(tx, context, scope)),
        );
        reportTransaction(context, startedAt, started);
        return result;
      } catch (error) {
        reportTransaction(context, startedAt, started, error);
        throw error;
      } finally {
        scope.ended = true;
        lease.release();
      }
    },
  };
}

function transactionClient(
  tx: Transaction,
  context: DriverContext,
  scope: TransactionScope,
): InstrumentedPgliteTransaction {
  return {
    query: <T>(text: string, params?: Params, options?: QueryOptions) => {
      if (scope.ended) return Promise.reject(new TransactionEndedError());
      return timed(context, true, text, params, () => tx.query<T>(text, params, options));
    },
  };
}

async function timed<T>(
  context: DriverContext,
  inTransaction: boolean,
  text: string,
  params: Params,
  run: () => Promise<Results<T>>,
): Promise<Results<T>> {
  const startedAt = Date.now();
  const started = performance.now();
  try {
    const result = await run();
    const rows = result.rows.length || (result.affectedRows ?? 0);
    reportQuery(context, text, params ?? [], startedAt, started, inTransaction, false, rows);
    return result;
  } catch (error) {
    const args = [startedAt, started, inTransaction, false, undefined, error] as const;
    reportQuery(context, text, params ?? [], ...args);
    throw error;
  }
}
