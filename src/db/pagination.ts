/**
 * Keyset (seek) pagination cursors. A cursor is the sort key of the last row of a page,
 * `(created_at, id)`, base64url-encoded: opaque to clients, stable while rows are inserted
 * (unlike OFFSET, which skips or repeats rows when the table changes between pages).
 */

export interface KeysetCursor {
  createdAt: Date;
  id: string;
}

export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
  constructor() {
    super("cursor is malformed");
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeCursor(row: KeysetCursor): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`, "utf8").toString("base64url");
}

/** Throws `InvalidCursorError` for anything `encodeCursor` could not have produced. */
export function decodeCursor(cursor: string): KeysetCursor {
  if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError();
  const [iso, id, ...rest] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  if (!iso || !id || rest.length > 0 || !UUID.test(id)) throw new InvalidCursorError();
  const createdAt = new Date(iso);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== iso) {
    throw new InvalidCursorError();
  }
  return { createdAt, id: id.toLowerCase() };
}

/** Splits a `limit + 1` fetch into the page and the cursor of the next one. */
export function toPage<T extends KeysetCursor>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
