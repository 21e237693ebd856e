/**
 * The users routes' handlers, each typed by its contract in `users.routes.ts`. Problems (404,
 * 409, ...) are thrown as typed errors and mapped to problem+json in one place (`problem.ts`).
 */
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
import type { AppRouteHandler } from "../../router.js";
import { toIso } from "../../schemas.js";
import type * as routes from "./users.routes.js";

export interface UsersDeps {
  db: AppDatabase;
}

const toUserDto = (u: UserRow) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  createdAt: toIso(u.createdAt),
  updatedAt: toIso(u.updatedAt),
});

export function createUsersHandlers({ db }: UsersDeps) {
  const create: AppRouteHandler<typeof routes.create> = async (c) => {
    const user = await createUser(db, c.req.valid("json"));
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
    const { count } = await bulkInsert(db, users, rows);
    return c.json({ inserted: count }, 201, JSON_UTF8);
  };

  const getOne: AppRouteHandler<typeof routes.getOne> = async (c) => {
    const user = await getUser(db, c.req.valid("param").id);
    if (!user) throw new NotFoundError("user");
    return c.json(toUserDto(user), 200, JSON_UTF8);
  };

  const update: AppRouteHandler<typeof routes.update> = async (c) => {
    const user = await updateUser(db, c.req.valid("param").id, c.req.valid("json"));
    if (!user) throw new NotFoundError("user");
    return c.json(toUserDto(user), 200, JSON_UTF8);
  };

  const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
    if (!(await deleteUser(db, c.req.valid("param").id))) throw new NotFoundError("user");
    return c.body(null, 204);
  };

  return { create, list, bulkCreate, getOne, update, remove };
}
