import { sql } from "drizzle-orm";
import type { AppDatabase } from "../client.js";
import { accounts, transfers, users } from "../schema/index.js";

export interface LedgerStats {
  users: number;
  accounts: number;
  transfers: number;
  balances: { currency: string; total: number }[];
}

/**
 * Counts and per-currency totals. One SELECT is one snapshot, so the numbers are consistent
 * with each other even while transfers commit (load tests compare them before and after).
 */
export async function getStats(db: AppDatabase): Promise<LedgerStats> {
  const [row] = await db
    .select({
      users: sql<string>`(select count(*) from ${users})`,
      accounts: sql<string>`(select count(*) from ${accounts})`,
      transfers: sql<string>`(select count(*) from ${transfers})`,
      balances: sql<{ currency: string; total: string }[] | null>`(
        select json_agg(json_build_object('currency', b.currency, 'total', b.total::text)
                        order by b.currency)
        from (select ${accounts.currency} as currency, sum(${accounts.balance}) as total
              from ${accounts} group by ${accounts.currency}) b
      )`,
    })
    .from(sql`(select 1) as one`);
  if (!row) throw new Error("stats query returned no row");
  return {
    users: Number(row.users),
    accounts: Number(row.accounts),
    transfers: Number(row.transfers),
    balances: (row.balances ?? []).map((b) => ({ currency: b.currency, total: Number(b.total) })),
  };
}
