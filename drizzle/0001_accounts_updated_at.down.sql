-- Down migration for 0001_accounts_updated_at.sql: drops the index, then the column.
-- lossless: every row and column that existed before the up comes back unchanged; only the
-- updated_at values go, and the up derives them again from transfers.
DROP INDEX "accounts_updated_at_id_idx";--> statement-breakpoint
ALTER TABLE "accounts" DROP COLUMN "updated_at";
