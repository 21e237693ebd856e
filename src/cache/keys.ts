/**
 * What the result cache holds: one entry per row a hot read returns, named by kind and id.
 * Every write that changes such a row must invalidate its key after its commit
 * (`invalidateAfterCommit`, or a repository's `afterCommit` option): a write path that forgets
 * leaves readers up to `CACHE_TTL_SECONDS` behind.
 *
 * | kind      | read by              | changed by                                  |
 * |-----------|----------------------|---------------------------------------------|
 * | `user`    | GET /users/{id}      | PATCH, DELETE /users/{id}                   |
 * | `account` | GET /accounts/{id}   | POST /transfers (both accounts' balances)   |
 */
export const CACHE_KINDS = ["user", "account"] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];

/** `kind` is a bounded label of the cache's metrics; `id` is the row's primary key. */
export interface CacheKey {
  readonly kind: CacheKind;
  readonly id: string;
}

export const cacheKey = {
  user: (id: string): CacheKey => ({ kind: "user", id }),
  account: (id: string): CacheKey => ({ kind: "account", id }),
};

/**
 * Bump when the shape of a cached value changes: entries written by the previous release are
 * then never read (they expire with their TTL) instead of being served in the old shape.
 */
const VALUE_VERSION = "v1";

/**
 * The entry's two Redis keys: the value, and its generation (bumped by each invalidation, see
 * `result-cache.ts`). The `{...}` hash tag puts both in one Redis Cluster slot, so one script
 * may touch both.
 */
export function redisKeysOf(prefix: string, key: CacheKey) {
  const base = `${prefix}:${VALUE_VERSION}:{${key.kind}:${key.id}}`;
  return { value: `${base}:value`, generation: `${base}:gen` };
}
