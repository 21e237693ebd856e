import { and, asc, eq, gt, or, sql } from "drizzle-orm";
import type { AppDatabase } from "../client.js";
import { decodeCursor, toPage } from "../pagination.js";
import { type NewUser, type User, users } from "../schema/index.js";
import { preparedStatement } from "../statements.js";

export interface UserInput {
  email: string;
  name: string;
}

export async function createUser(db: AppDatabase, input: UserInput): Promise<User> {
  const [user] = await db.insert(users).values(input).returning();
  if (!user) throw new Error("INSERT ... RETURNING returned no row");
  return user;
}

const userById = preparedStatement("user_by_id", (db, name) =>
  db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder("id")))
    .prepare(name),
);

export async function getUser(db: AppDatabase, id: string): Promise<User | undefined> {
  const [row] = await userById(db).execute({ id });
  return row;
}

/** Oldest first; `cursor` is the previous page's `nextCursor`. */
export async function listUsers(db: AppDatabase, options: { limit: number; cursor?: string }) {
  const after = options.cursor ? decodeCursor(options.cursor) : undefined;
  const rows = await db
    .select()
    .from(users)
    .where(
      after
        ? or(
            gt(users.createdAt, after.createdAt),
            and(eq(users.createdAt, after.createdAt), gt(users.id, after.id)),
          )
        : undefined,
    )
    .orderBy(asc(users.createdAt), asc(users.id))
    .limit(options.limit + 1);
  return toPage(rows, options.limit);
}

export async function updateUser(
  db: AppDatabase,
  id: string,
  patch: Partial<UserInput>,
): Promise<User | undefined> {
  const [user] = await db
    .update(users)
    .set({ ...patch, updatedAt: sql`now()` })
    .where(eq(users.id, id))
    .returning();
  return user;
}

/** False when no such user. A user who still has accounts raises ForeignKeyViolationError. */
export async function deleteUser(db: AppDatabase, id: string): Promise<boolean> {
  const deleted = await db.delete(users).where(eq(users.id, id)).returning({ id: users.id });
  return deleted.length > 0;
}

export type { NewUser, User };
