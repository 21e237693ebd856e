/**
 * Behind PgBouncer in transaction pooling mode (`DATABASE_POOLER=pgbouncer-transaction`) each
 * transaction may run on another server connection, so nothing a session keeps survives the
 * transaction that set it: session advisory locks (another client's transaction can land on the
 * connection holding one, and the lock outlives the client that took it), `LISTEN` (the
 * notification goes to whatever session listened, not to the client), session `SET`, named
 * prepared statements, temporary tables outside a transaction. What in the template needs
 * them refuses to start there with this error, naming the way around it, rather than misbehave
 * under load.
 *
 * @example
 * refuseBehindTransactionPooler(config, "migrations (session advisory lock)", "set MIGRATION_DATABASE_URL");
 */
import type { DatabaseConfig } from "../env.js";

export class SessionFeatureError extends Error {
  override readonly name = "SessionFeatureError";
  readonly code = "SESSION_FEATURE_BEHIND_POOLER";

  constructor(
    readonly feature: string,
    readonly fix: string,
  ) {
    super(
      `${feature} needs a session of its own, which PgBouncer in transaction mode ` +
        `(DATABASE_POOLER=pgbouncer-transaction) doesn't keep between transactions: ${fix}`,
    );
  }
}

/** Throws `SessionFeatureError` when `config` reaches PgBouncer in transaction mode. */
export function refuseBehindTransactionPooler(
  config: Pick<DatabaseConfig, "pooler">,
  feature: string,
  fix: string,
): void {
  if (config.pooler === "pgbouncer-transaction") throw new SessionFeatureError(feature, fix);
}
