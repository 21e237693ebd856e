/**
 * The row-level security actor: the role a transaction switches to when it acts for one user
 * (`withActor`, src/db/actor.ts), and the setting that names the user. The accounts and
 * transfers policies are written against these two; docs/security.md explains the design.
 */
import { sql } from "drizzle-orm";
import { pgRole } from "drizzle-orm/pg-core";

/**
 * NOLOGIN, cluster-wide, with one fixed name (not `DATABASE_ROLE_PREFIX`'s): committed migrations
 * name it in their policies. The RLS migration creates it when missing and grants it what it may
 * touch; `db:roles` lets the app role switch to it. `.existing()`: drizzle-kit must not manage it.
 */
export const actorRole = pgRole("ledger_actor").existing();

/** The custom setting that holds the acting user's id, set per transaction by `withActor`. */
export const ACTOR_SETTING = "app.user_id";

/**
 * The acting user's id, NULL when the setting is unset or empty (`''` once a transaction set
 * and ended it on this connection): a policy comparing with it then matches no row, so a
 * transaction that forgets the actor sees nothing rather than everything. Written out rather
 * than built from `ACTOR_SETTING`: drizzle-kit copies policy SQL as text, without parameters.
 */
export const currentActor = sql`nullif(current_setting('app.user_id', true), '')::uuid`;
