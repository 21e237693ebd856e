/**
 * Where a read-through cache loads from. A value the cache stores is served to every instance,
 * so it must not be a replica's past: another instance's write may have committed, and
 * invalidated its key, before a replica replayed it (src/db/replicas.ts keeps read-your-writes
 * per process only). Without a cache, or without replicas, reads go where `db` sends them.
 *
 * @example
 * const load = () => getUser(readsFor(db, cache), id);
 */
import type { AppDatabase } from "../db/client.js";
import { primaryOf } from "../db/replicas.js";
import type { ResultCache } from "./result-cache.js";

export const readsFor = (db: AppDatabase, cache: ResultCache | undefined): AppDatabase =>
  cache ? primaryOf(db) : db;
