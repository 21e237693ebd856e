ALTER TABLE "accounts" ADD COLUMN "updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
-- Hand-written backfill (added before the migration was first applied). An account last
-- changed when a transfer last moved its balance, or when it was created if none has.
-- One UPDATE suits the template's tables; on a large table backfill in batches instead
-- (see docs/migrations.md). It runs before the index exists, so the index is built once.
UPDATE "accounts" AS a SET "updated_at" = greatest(
	a."created_at",
	(SELECT max(t."created_at") FROM "transfers" t WHERE t."from_account_id" = a."id"),
	(SELECT max(t."created_at") FROM "transfers" t WHERE t."to_account_id" = a."id")
);--> statement-breakpoint
CREATE INDEX "accounts_updated_at_id_idx" ON "accounts" USING btree ("updated_at","id");
