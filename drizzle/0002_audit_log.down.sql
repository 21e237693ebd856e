-- Down migration for 0002_audit_log.sql: drizzle-kit's diff (the two DROP TABLEs at the end)
-- plus the hand-written triggers and functions of the up, dropped first.
-- lossless: only the audit tables go, with every entry written since the up; the ledger's rows
-- stay as they are.
DROP TRIGGER "audit_transfers_truncate" ON "transfers";--> statement-breakpoint
DROP TRIGGER "audit_accounts_truncate" ON "accounts";--> statement-breakpoint
DROP TRIGGER "audit_users_truncate" ON "users";--> statement-breakpoint
DROP TRIGGER "audit_transfers" ON "transfers";--> statement-breakpoint
DROP TRIGGER "audit_accounts" ON "accounts";--> statement-breakpoint
DROP TRIGGER "audit_users" ON "users";--> statement-breakpoint
DROP FUNCTION "audit_record_change"();--> statement-breakpoint
DROP FUNCTION "audit_log_payload"("audit_log");--> statement-breakpoint
DROP TABLE "audit_chain" CASCADE;--> statement-breakpoint
DROP TABLE "audit_log" CASCADE;--> statement-breakpoint
DROP FUNCTION "audit_append_only"();
