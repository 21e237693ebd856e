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
import { createRouter } from "../../router.js";
import { toIso } from "../../schemas.js";
import {
  bulkUsersRoute,
  createUserRoute,
  deleteUserRoute,
  getUserRoute,
  listUsersRoute,
  updateUserRoute,
} from "./users.routes.js";

export const toUserDto = (u: UserRow) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  createdAt: toIso(u.createdAt),
  updatedAt: toIso(u.updatedAt),
});

export function createUsersRouter({ db }: { db: AppDatabase }) {
  return createRouter()
    .openapi(createUserRoute, async (c) => {
      const user = await createUser(db, c.req.valid("json"));
      c.header("Location", `/users/${user.id}`);
      return c.json(toUserDto(user), 201, JSON_UTF8);
    })
    .openapi(listUsersRoute, async (c) => {
      const page = await listUsers(db, c.req.valid("query"));
      return c.json(
        { items: page.items.map(toUserDto), nextCursor: page.nextCursor },
        200,
        JSON_UTF8,
      );
    })
    .openapi(bulkUsersRoute, async (c) => {
      const { users: rows } = c.req.valid("json");
      // All or nothing: one transaction; a duplicate (stored or in the batch) is a 409.
      const { count } = await bulkInsert(db, users, rows);
      return c.json({ inserted: count }, 201, JSON_UTF8);
    })
    .openapi(getUserRoute, async (c) => {
      const user = await getUser(db, c.req.valid("param").id);
      if (!user) throw new NotFoundError("user");
      return c.json(toUserDto(user), 200, JSON_UTF8);
    })
    .openapi(updateUserRoute, async (c) => {
      const user = await updateUser(db, c.req.valid("param").id, c.req.valid("json"));
      if (!user) throw new NotFoundError("user");
      return c.json(toUserDto(user), 200, JSON_UTF8);
    })
    .openapi(deleteUserRoute, async (c) => {
      if (!(await deleteUser(db, c.req.valid("param").id))) throw new NotFoundError("user");
      return c.body(null, 204);
    });
}
