/**
 * The roles `db:roles` manages and how they are named. Roles belong to the whole cluster, not
 * to one database, so their names carry a prefix (`DATABASE_ROLE_PREFIX`, default `ledger`):
 * two services, or two test runs, on one server don't share roles by accident.
 *
 * @example
 * roleNames("shop"); // { owner: "shop_owner", app: "shop_app", readonly: "shop_readonly", actor: "ledger_actor" }
 */
import { actorRole } from "../db/schema/actor.js";

/** Lower-case letters, digits and `_`, starting with a letter: no quoting surprises anywhere. */
export const ROLE_PREFIX = /^[a-z][a-z0-9_]{0,39}$/;

export interface RoleNames {
  /** Owns the schema's objects; runs DDL. Used only by `db:migrate` (`MIGRATION_DATABASE_URL`). */
  owner: string;
  /** The server's login (`DATABASE_URL`): DML on the app's tables, nothing else. */
  app: string;
  /** Reporting: SELECT on the app's tables, read-only transactions. */
  readonly: string;
  /** The row-level security actor (NOLOGIN, fixed name: the committed policies name it). */
  actor: string;
}

export function roleNames(prefix: string): RoleNames {
  if (!ROLE_PREFIX.test(prefix)) {
    throw new RangeError(
      "role prefix must be 1-40 lower-case letters, digits or _, starting with a letter",
    );
  }
  return {
    owner: `${prefix}_owner`,
    app: `${prefix}_app`,
    readonly: `${prefix}_readonly`,
    actor: actorRole.name,
  };
}

/** `"name"`, with embedded quotes doubled (the names above never have any). */
export const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
