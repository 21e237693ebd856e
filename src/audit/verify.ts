/**
 * `db:audit -- --verify`: checks the audit log against its hash chain and the ledger against the
 * audit log, in one read-only snapshot (REPEATABLE READ), so that entries appended meanwhile
 * can't look like tampering.
 *
 * - the chain: every entry's hash recomputed (an edited entry), `seq` without gaps (a deleted
 *   one), each entry's `prev_hash` equal to the hash before it (one rewritten with a new hash or
 *   inserted), and the head row (`audit_chain`: where the last appending transaction started)
 *   still in the chain, followed only by that transaction's entries (entries deleted from the
 *   end, or appended around the trigger);
 * - the triggers: each audit trigger exists and is enabled (an owner can disable them, and
 *   changes made meanwhile are not recorded);
 * - the balances: each audited account's balance equals its last audited value (a balance
 *   changed while the triggers were off, or by replication-role sessions that skip them);
 * - the rows: each row written since the log began has an entry.
 */
import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { AppDatabase, AppTransaction } from "../db/client.js";
import { accounts, auditChain, auditLog } from "../db/schema/index.js";
import { withTransaction } from "../db/transaction.js";
import { canonicalPayload, chainHash, GENESIS_HASH } from "./chain.js";

export type AuditProblemKind =
  | "edited"
  | "missing"
  | "relinked"
  | "head_mismatch"
  | "trigger_missing"
  | "trigger_disabled"
  | "balance_mismatch"
  | "unaudited_row";

export interface AuditProblem {
  kind: AuditProblemKind;
  /** The entry where the chain breaks, for chain problems. */
  seq?: number;
  message: string;
}

export interface AuditReport {
  ok: boolean;
  /** Entries read. */
  entries: number;
  /** The head row: record it somewhere the database's owner can't write to (docs/security.md). */
  head: { seq: number; hash: string };
  /** Chain problems first, in `seq` order (the first is the first broken link); at most `limit`. */
  problems: AuditProblem[];
}

export interface VerifyOptions {
  /** Entries read per query. Default 5,000. */
  batchSize?: number;
  /** Problems kept; the walk goes on to count entries. Default 20. */
  limit?: number;
}

/** The ledger's tables the audit triggers watch. */
const AUDITED_TABLES = ["users", "accounts", "transfers"] as const;

/** The triggers migration 0002_audit_log creates, by table. */
export const AUDIT_TRIGGERS: Record<string, string[]> = {
  users: ["audit_users", "audit_users_truncate"],
  accounts: ["audit_accounts", "audit_accounts_truncate"],
  transfers: ["audit_transfers", "audit_transfers_truncate"],
  audit_log: ["audit_log_append_only", "audit_log_no_truncate"],
  audit_chain: ["audit_chain_append_only", "audit_chain_no_truncate"],
};

/**
 * Verifies the audit log of `db`; never throws for what it finds, only for a failed query.
 *
 * @example
 * const report = await verifyAuditLog(database.db);
 * if (!report.ok) console.error(report.problems[0]?.message); // the first broken link
 */
export async function verifyAuditLog(
  db: AppDatabase,
  options: VerifyOptions = {},
): Promise<AuditReport> {
  const limit = options.limit ?? 20;
  return withTransaction(
    db,
    async (tx) => {
      const problems: AuditProblem[] = [];
      const report = (problem: AuditProblem) => {
        if (problems.length < limit) problems.push(problem);
      };
      const chain = await walkChain(tx, options.batchSize ?? 5_000, report);
      await checkTriggers(tx, report);
      await checkBalances(tx, limit, report);
      await checkUnaudited(tx, limit, report);
      return { ok: problems.length === 0, ...chain, problems };
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}

async function walkChain(
  tx: AppTransaction,
  batchSize: number,
  report: (problem: AuditProblem) => void,
) {
  // Where the last appending transaction started: its first entry, and the hash before it.
  const [marker] = await tx.select({ seq: auditChain.seq, hash: auditChain.hash }).from(auditChain);
  if (!marker) report({ kind: "head_mismatch", message: "the chain's head row is gone" });
  let lastSeq = 0;
  let lastHash = GENESIS_HASH;
  let entries = 0;
  let lastTransaction: number | undefined;
  let strayReported = false;
  for (;;) {
    const batch = await tx
      .select({
        seq: auditLog.seq,
        prevHash: auditLog.prevHash,
        hash: auditLog.hash,
        transactionId: auditLog.transactionId,
        payload: canonicalPayload,
      })
      .from(auditLog)
      .where(gt(auditLog.seq, lastSeq))
      .orderBy(asc(auditLog.seq))
      .limit(batchSize);
    for (const entry of batch) {
      entries++;
      if (entry.seq !== lastSeq + 1) {
        report({
          kind: "missing",
          seq: entry.seq,
          message: `entries ${range(lastSeq + 1, entry.seq - 1)} are missing (deleted)`,
        });
      } else if (entry.prevHash !== lastHash) {
        report({
          kind: "relinked",
          seq: entry.seq,
          message:
            `entry ${entry.seq} does not follow entry ${lastSeq}: its prev_hash is not that ` +
            "entry's hash (an entry before it was rewritten with a new hash, or inserted)",
        });
      }
      if (chainHash(entry.prevHash, entry.payload) !== entry.hash) {
        report({
          kind: "edited",
          seq: entry.seq,
          message: `entry ${entry.seq} was edited: its content no longer matches its hash`,
        });
      }
      if (marker && entry.seq === marker.seq) {
        lastTransaction = entry.transactionId;
        if (entry.prevHash !== marker.hash) {
          report({
            kind: "head_mismatch",
            seq: entry.seq,
            message: `the chain's head does not match entry ${entry.seq}: one was rewritten`,
          });
        }
      } else if (marker && entry.seq > marker.seq && !strayReported) {
        // Entries after the head's are the last appending transaction's own.
        if (entry.transactionId !== lastTransaction) {
          strayReported = true;
          report({
            kind: "head_mismatch",
            seq: entry.seq,
            message: `entry ${entry.seq} and after were appended around the audit trigger`,
          });
        }
      }
      lastSeq = entry.seq;
      lastHash = entry.hash;
    }
    if (batch.length < batchSize) break;
  }
  if (marker && marker.seq > lastSeq) {
    report({
      kind: "missing",
      seq: lastSeq + 1,
      message: `entries from ${lastSeq + 1} on are missing (deleted from the end)`,
    });
  } else if (marker && marker.seq === 0 && entries > 0) {
    report({
      kind: "head_mismatch",
      seq: 1,
      message: "entries were appended around the audit trigger: the chain's head never moved",
    });
  }
  return { entries, head: { seq: lastSeq, hash: lastHash } };
}

async function checkTriggers(tx: AppTransaction, report: (problem: AuditProblem) => void) {
  const tables = Object.keys(AUDIT_TRIGGERS);
  const rows = rowsOf<{ table: string; name: string; enabled: string }>(
    await tx.execute(sql`
      select c.relname as "table", t.tgname as name, t.tgenabled::text as enabled
      from pg_trigger t join pg_class c on c.oid = t.tgrelid
      where t.tgrelid = any(${`{${tables.join(",")}}`}::regclass[])`),
  );
  for (const [table, names] of Object.entries(AUDIT_TRIGGERS)) {
    for (const name of names) {
      const found = rows.find((row) => row.table === table && row.name === name);
      if (!found) {
        report({ kind: "trigger_missing", message: `trigger ${name} on ${table} is missing` });
      } else if (found.enabled !== "O" && found.enabled !== "A") {
        // D: disabled; R: fires only in sessions with session_replication_role = replica.
        report({
          kind: "trigger_disabled",
          message:
            `trigger ${name} on ${table} is disabled: changes made while it is off are not ` +
            "recorded (ALTER TABLE ... ENABLE TRIGGER, then investigate)",
        });
      }
    }
  }
}

async function checkBalances(
  tx: AppTransaction,
  limit: number,
  report: (problem: AuditProblem) => void,
) {
  // The last entry of each account that has one; accounts from before the audit log have none.
  const last = tx
    .select({ values: auditLog.newValues })
    .from(auditLog)
    .where(and(eq(auditLog.tableName, "accounts"), eq(auditLog.rowId, sql`${accounts.id}::text`)))
    .orderBy(sql`${auditLog.seq} desc`)
    .limit(1)
    .as("last");
  const drifted = await tx
    .select({
      id: accounts.id,
      balance: accounts.balance,
      audited: sql<string | null>`${last.values} ->> 'balance'`,
    })
    .from(accounts)
    .innerJoinLateral(last, sql`true`)
    .where(sql`(${last.values} ->> 'balance')::bigint is distinct from ${accounts.balance}`)
    .limit(limit);
  for (const row of drifted) {
    report({
      kind: "balance_mismatch",
      message:
        `account ${row.id} holds ${row.balance}, but its last audited balance is ` +
        `${row.audited ?? "none (deleted)"}: it changed without being audited`,
    });
  }
}

/**
 * Rows written since the log began without an entry: a trigger off at the time, or the entry
 * deleted (also the trailing entries of the last transaction, which the chain can't tell).
 */
async function checkUnaudited(
  tx: AppTransaction,
  limit: number,
  report: (problem: AuditProblem) => void,
) {
  for (const table of AUDITED_TABLES) {
    const rows = rowsOf<{ id: string }>(
      await tx.execute(sql`
        select t.id::text as id from ${sql.identifier(table)} t
        where t.created_at >= (select min(${auditLog.occurredAt}) from ${auditLog})
          and not exists (
            select 1 from ${auditLog}
            where ${auditLog.tableName} = ${table} and ${auditLog.rowId} = t.id::text
          )
        limit ${limit}`),
    );
    for (const row of rows) {
      report({
        kind: "unaudited_row",
        message:
          `${table} row ${row.id} has no audit entry: written while the audit trigger was off, ` +
          "or its entries were deleted",
      });
    }
  }
}

const range = (from: number, to: number) => (from === to ? `${from}` : `${from}-${to}`);

/** postgres.js returns the rows, PGlite a result holding them. */
function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as T[];
}
