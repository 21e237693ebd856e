/**
 * The users routes' handlers, each typed by its contract in `users.routes.ts`. Problems (404,
 * 409, ...) are thrown as typed errors and mapped to problem+json in one place (`problem.ts`).
 */
import {
  cacheKey,
  invalidateAfterCommit,
  type ResultCache,
  readsFor,
} from "../../../cache/index.js";
import { bulkInsert } from "../../../db/bulk.js";
import type { AppDatabase } from "../../../db/client.js";
import {
  createUser,
  deleteUser,
  getUser,
  listUsers,
  updateUser,
} from "../../../db/repositories/users.js";
import { type User as UserRow, users } from "../../../db/schema/index.js";
import { NotFoundError } from "../../../domain-errors.js";
import { JSON_UTF8 } from "../../openapi-helpers.js";
import { inRequestTransaction, type TransactionOptionsFor } from "../../request-transaction.js";
import type { AppRouteHandler } from "../../router.js";
import { toIso } from "../../schemas.js";
import type * as routes from "./users.routes.js";

export interface UsersDeps {
  db: AppDatabase;
  /** Options of the transaction each write runs in, which the audit log reads. */
  transactionOptions: TransactionOptionsFor;
  /** Read-through cache of GET /users/{id} (src/cache); undefined: off. */
  cache?: ResultCache | undefined;
}

const toUserDto = (u: UserRow) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  createdAt: toIso(u.createdAt),
  updatedAt: toIso(u.updatedAt),
});

export function createUsersHandlers({ db, cache, transactionOptions }: UsersDeps) {
  const create: AppRouteHandler<typeof routes.create> = async (c) => {
    const input = c.req.valid("json");
    const user = await inRequestTransaction(c, db, transactionOptions, (tx) =>
      createUser(tx, input),
    );
    c.header("Location", `/users/${user.id}`);
    return c.json(toUserDto(user), 201, JSON_UTF8);
  };

  const list: AppRouteHandler<typeof routes.list> = async (c) => {
    const page = await listUsers(db, c.req.valid("query"));
    return c.json(
      { items: page.items.map(toUserDto), nextCursor: page.nextCursor },
      200,
      JSON_UTF8,
    );
  };

  const bulkCreate: AppRouteHandler<typeof routes.bulkCreate> = async (c) => {
    const { users: rows } = c.req.valid("json");
    // All or nothing: one transaction; a duplicate (stored or in the batch) is a 409.
    const { count } = await inRequestTransaction(c, db, transactionOptions, (tx) =>
      bulkInsert(tx, users, rows),
    );
    return c.json({ inserted: count }, 201, JSON_UTF8);
  };

  const getOne: AppRouteHandler<typeof routes.getOne> = async (c) => {
    const { id } = c.req.valid("param");
    const load = async () => {
      const row = await getUser(readsFor(db, cache), id);
      return row && toUserDto(row);
    };
    const user = cache ? await cache.get(cacheKey.user(id), load) : await load();
    if (!user) throw new NotFoundError("user");
    return c.json(user, 200, JSON_UTF8);
  };

  const update: AppRouteHandler<typeof routes.update> = async (c) => {
    const { id } = c.req.valid("param");
    const patch = c.req.valid("json");
    const user = await inRequestTransaction(c, db, transactionOptions, (tx) =>
      invalidateAfterCommit(tx, cache, [cacheKey.user(id)], (sp) => updateUser(sp, id, patch)),
    );
    if (!user) throw new NotFoundError("user");
    return c.json(toUserDto(user), 200, JSON_UTF8);
  };

  const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
    const { id } = c.req.valid("param");
    const deleted = await inRequestTransaction(c, db, transactionOptions, (tx) =>
      invalidateAfterCommit(tx, cache, [cacheKey.user(id)], (sp) => deleteUser(sp, id)),
    );
    if (!deleted) throw new NotFoundError("user");
    return c.body(null, 204);
  };

  return { create, list, bulkCreate, getOne, update, remove };
}
