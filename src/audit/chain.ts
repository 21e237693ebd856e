/**
 * The audit log's hash chain, computed here independently of the database: each entry's `hash`
 * is sha256(`prev_hash` as bytes || its canonical content as UTF-8), `prev_hash` being the hash
 * of the entry before (64 zeros before the first). The canonical content is the text of a JSON
 * array of the entry's columns, which migration 0002_audit_log's `audit_log_payload` builds at
 * write time and `canonicalPayload` below builds again at verify time, from the stored columns.
 */
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { auditLog } from "../db/schema/index.js";

/** The `prev_hash` of the first entry (and the head's hash while the log is empty). */
export const GENESIS_HASH = "0".repeat(64);

/**
 * The canonical content of an `audit_log` row, as SQL over its columns: the same expression as
 * the `audit_log_payload` function, written out again so that verifying trusts no function the
 * database's owner could replace. Timestamps are spelled in UTC (independent of the session's
 * TimeZone); jsonb's text form is canonical.
 */
export const canonicalPayload = sql<string>`jsonb_build_array(
  ${auditLog.seq},
  to_char(${auditLog.occurredAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
  ${auditLog.transactionId}, ${auditLog.tableName}, ${auditLog.operation}, ${auditLog.rowId},
  ${auditLog.actor}, ${auditLog.requestId}, ${auditLog.dbUser},
  ${auditLog.oldValues}, ${auditLog.newValues}
)::text`;

/**
 * An entry's hash from the previous hash (64 hex digits) and its canonical content.
 *
 * @example
 * chainHash(GENESIS_HASH, payload) === firstEntry.hash; // unless the entry was edited
 */
export function chainHash(prevHash: string, payload: string): string {
  return createHash("sha256")
    .update(Buffer.from(prevHash, "hex"))
    .update(payload, "utf8")
    .digest("hex");
}
