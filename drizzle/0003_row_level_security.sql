-- Hand-written (added before the migration was first applied): the actor role the policies
-- name. NOLOGIN and cluster-wide; `npm run db:roles` creates it before the first migration on
-- a server where the migrator may not create roles, so this only creates it where it is still
-- missing (development, tests). A concurrent migration of another database may win the race.
DO $$ BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_actor') THEN
		CREATE ROLE "ledger_actor" NOLOGIN NOINHERIT;
	END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;--> statement-breakpoint
ALTER TABLE "accounts" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "transfers" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "accounts_all_rows" ON "accounts" AS PERMISSIVE FOR ALL TO public USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "accounts_actor_rows" ON "accounts" AS RESTRICTIVE FOR ALL TO "ledger_actor" USING ("accounts"."user_id" = nullif(current_setting('app.user_id', true), '')::uuid) WITH CHECK ("accounts"."user_id" = nullif(current_setting('app.user_id', true), '')::uuid);--> statement-breakpoint
CREATE POLICY "transfers_all_rows" ON "transfers" AS PERMISSIVE FOR ALL TO public USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "transfers_actor_rows" ON "transfers" AS RESTRICTIVE FOR ALL TO "ledger_actor" USING ("transfers"."from_account_id" in (select "accounts"."id" from "accounts" where "accounts"."user_id" = nullif(current_setting('app.user_id', true), '')::uuid) or "transfers"."to_account_id" in (select "accounts"."id" from "accounts" where "accounts"."user_id" = nullif(current_setting('app.user_id', true), '')::uuid)) WITH CHECK ("transfers"."from_account_id" in (select "accounts"."id" from "accounts" where "accounts"."user_id" = nullif(current_setting('app.user_id', true), '')::uuid));--> statement-breakpoint
-- Hand-written: FORCE, so the tables' owner is held to the policies too (superusers and
-- BYPASSRLS roles never are), and what the actor may touch. RLS narrows these privileges to
-- the acting user's rows; the actor has none on any other table.
ALTER TABLE "accounts" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "transfers" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
GRANT USAGE ON SCHEMA "public" TO "ledger_actor";--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON "accounts" TO "ledger_actor";--> statement-breakpoint
GRANT SELECT, INSERT ON "transfers" TO "ledger_actor";
