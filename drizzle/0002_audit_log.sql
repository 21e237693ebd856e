CREATE TABLE "audit_chain" (
	"id" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"seq" bigint DEFAULT 0 NOT NULL,
	"hash" text DEFAULT repeat('0', 64) NOT NULL,
	CONSTRAINT "audit_chain_single_row" CHECK ("audit_chain"."id")
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"transaction_id" bigint NOT NULL,
	"table_name" text NOT NULL,
	"operation" text NOT NULL,
	"row_id" text,
	"actor" text,
	"request_id" text,
	"db_user" text NOT NULL,
	"old_values" jsonb,
	"new_values" jsonb,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	CONSTRAINT "audit_log_operation" CHECK ("audit_log"."operation" in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
	CONSTRAINT "audit_log_hash_hex" CHECK ("audit_log"."hash" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE INDEX "audit_log_table_row_seq_idx" ON "audit_log" USING btree ("table_name","row_id","seq");--> statement-breakpoint
-- Hand-written from here (added before the migration was first applied): the audit triggers.
-- docs/security.md ("Audit log") explains the design; `npm run db:audit -- --verify` checks it.
-- The chain starts from one head row: seq 0 and 64 zeros as the hash before the first row.
INSERT INTO "audit_chain" DEFAULT VALUES;--> statement-breakpoint
-- The canonical content of an entry, hashed with the previous entry's hash. Timestamps are
-- spelled in UTC so the text does not depend on the session's TimeZone or DateStyle; jsonb's
-- text form is already canonical (sorted keys, normalized numbers). src/audit/chain.ts builds
-- the same text to verify the chain without trusting this function.
CREATE FUNCTION "audit_log_payload"(e "audit_log") RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_array(
		e.seq,
		to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		e.transaction_id, e.table_name, e.operation, e.row_id, e.actor, e.request_id, e.db_user,
		e.old_values, e.new_values
	)::text
$$;--> statement-breakpoint
-- Appends one entry for the change that fired it. SECURITY DEFINER: the app's role needs no
-- privilege on the audit tables (and should get none but SELECT), so it can't write entries
-- of its own; search_path is pinned, as such a function's must be.
CREATE FUNCTION "audit_record_change"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
	entry public.audit_log;
	head_xmin xid;
BEGIN
	-- The head's row lock serializes appenders until this transaction ends: two transactions
	-- can't both append after the same entry. Under REPEATABLE READ or SERIALIZABLE a head
	-- moved by a concurrent commit is a serialization failure (40001), which withTransaction
	-- retries, never a fork.
	SELECT c.xmin INTO head_xmin FROM public.audit_chain c WHERE c.id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'audit_chain has lost its head row';
	END IF;
	-- With the lock held, the last entry is final: committed by the previous holder, or ours.
	SELECT l.seq + 1, l.hash INTO entry.seq, entry.prev_hash
		FROM public.audit_log l ORDER BY l.seq DESC LIMIT 1;
	IF NOT FOUND THEN
		entry.seq := 1;
		entry.prev_hash := repeat('0', 64);
	END IF;
	-- The head records where the last appending transaction started, updated once per
	-- transaction: a row updated for every entry would leave a version per entry behind, each
	-- read again by the next (quadratic in a bulk load's rows).
	IF head_xmin IS DISTINCT FROM pg_current_xact_id()::xid THEN
		UPDATE public.audit_chain SET seq = entry.seq, hash = entry.prev_hash WHERE id;
	END IF;
	entry.occurred_at := now();
	entry.transaction_id := pg_current_xact_id()::text::bigint;
	entry.table_name := TG_TABLE_NAME;
	entry.operation := TG_OP;
	IF TG_LEVEL = 'ROW' THEN
		IF TG_OP <> 'INSERT' THEN entry.old_values := to_jsonb(OLD); END IF;
		IF TG_OP <> 'DELETE' THEN entry.new_values := to_jsonb(NEW); END IF;
		entry.row_id := coalesce(entry.new_values, entry.old_values) ->> 'id';
	END IF;
	-- Set by the app per transaction (set_config(..., true)); '' once such a setting has
	-- been used and reset in this session.
	entry.actor := nullif(current_setting('app.actor', true), '');
	entry.request_id := nullif(current_setting('app.request_id', true), '');
	entry.db_user := session_user;
	entry.hash := encode(
		sha256(decode(entry.prev_hash, 'hex') || convert_to(public.audit_log_payload(entry), 'UTF8')),
		'hex'
	);
	INSERT INTO public.audit_log SELECT (entry).*;
	RETURN NULL;
END
$$;--> statement-breakpoint
-- Refuses every change to the audit tables but the one audit_record_change makes (from inside
-- a trigger, so at trigger depth 2 here): INSERT into audit_log, UPDATE of audit_chain. Triggers
-- bind every role, owner included; only disabling them gets past, which db:audit --verify
-- reports.
CREATE FUNCTION "audit_append_only"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_LEVEL = 'ROW' AND TG_OP = TG_ARGV[0] AND pg_trigger_depth() > 1 THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;--> statement-breakpoint
CREATE TRIGGER "audit_log_append_only" BEFORE INSERT OR UPDATE OR DELETE ON "audit_log"
	FOR EACH ROW EXECUTE FUNCTION "audit_append_only"('INSERT');--> statement-breakpoint
CREATE TRIGGER "audit_log_no_truncate" BEFORE TRUNCATE ON "audit_log"
	FOR EACH STATEMENT EXECUTE FUNCTION "audit_append_only"('none');--> statement-breakpoint
CREATE TRIGGER "audit_chain_append_only" BEFORE INSERT OR UPDATE OR DELETE ON "audit_chain"
	FOR EACH ROW EXECUTE FUNCTION "audit_append_only"('UPDATE');--> statement-breakpoint
CREATE TRIGGER "audit_chain_no_truncate" BEFORE TRUNCATE ON "audit_chain"
	FOR EACH STATEMENT EXECUTE FUNCTION "audit_append_only"('none');--> statement-breakpoint
-- Deferred to commit: the head's lock is then held only while the transaction commits, not
-- across the app's round trips, so audited writers queue for microseconds, not milliseconds.
-- Still the same transaction: a failed append fails the commit, and nothing is stored.
CREATE CONSTRAINT TRIGGER "audit_users" AFTER INSERT OR UPDATE OR DELETE ON "users"
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "audit_record_change"();--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "audit_accounts" AFTER INSERT OR UPDATE OR DELETE ON "accounts"
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "audit_record_change"();--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "audit_transfers" AFTER INSERT OR UPDATE OR DELETE ON "transfers"
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "audit_record_change"();--> statement-breakpoint
-- Row triggers don't see TRUNCATE: one entry for the statement (no rows, no values).
CREATE TRIGGER "audit_users_truncate" AFTER TRUNCATE ON "users"
	FOR EACH STATEMENT EXECUTE FUNCTION "audit_record_change"();--> statement-breakpoint
CREATE TRIGGER "audit_accounts_truncate" AFTER TRUNCATE ON "accounts"
	FOR EACH STATEMENT EXECUTE FUNCTION "audit_record_change"();--> statement-breakpoint
CREATE TRIGGER "audit_transfers_truncate" AFTER TRUNCATE ON "transfers"
	FOR EACH STATEMENT EXECUTE FUNCTION "audit_record_change"();--> statement-breakpoint
-- Tables get no privileges for PUBLIC by default; said here so that a later blanket GRANT is a
-- visible decision. The app's role needs none (see audit_record_change), at most SELECT.
REVOKE ALL ON "audit_log", "audit_chain" FROM PUBLIC;
