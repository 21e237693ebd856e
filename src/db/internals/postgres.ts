/**
 * What the template needs of postgres.js beyond its documented API, in one place: that the
 * installed copy carries the repository's patch (patches/postgres+3.4.9.patch, applied by
 * patch-package on `npm install`/`npm ci`). Listed in docs/internals.md.
 *
 * The patch fixes postgres.js's `Queue` (docs/upstream/postgres-js-busy-queue.md): without it the
 * pool's busy list grows by one slot per query while every connection has work, which is exactly
 * what pipelining does under load. So the pool gate pipelines (`DATABASE_PIPELINE` > 1) only on
 * a patched copy; on an unpatched one (`npm ci --ignore-scripts`, a postgres.js release the
 * patch no longer fits) it runs one query per connection and `createDatabase` logs why.
 *
 * Reads the installed package's files, not its objects: nothing of postgres.js is reached into
 * at run time.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** The line both patched `queue.js` files (ESM and CommonJS) carry. */
const PATCH_MARKER = "patched (busy-queue)";

export interface PostgresPatchCheck {
  /** The installed postgres.js version ("unknown" when its package.json can't be read). */
  readonly version: string;
  /** Whether the busy-queue patch is in the installed copy. */
  readonly queuePatched: boolean;
}

let cached: PostgresPatchCheck | undefined;

/** Checks the installed postgres.js once per process. */
export function checkPostgresPatch(): PostgresPatchCheck {
  // The CommonJS entry (cjs/src/index.js) is what `require.resolve` finds; the package root is
  // two folders up, and the ESM build the app imports is src/ beside cjs/.
  cached ??= checkPostgresCopy(
    dirname(dirname(dirname(createRequire(import.meta.url).resolve("postgres")))),
  );
  return cached;
}

/** Checks the postgres.js package in folder `root`. */
export function checkPostgresCopy(root: string): PostgresPatchCheck {
  const read = (file: string) => {
    try {
      return readFileSync(join(root, file), "utf8");
    } catch {
      return "";
    }
  };
  let version = "unknown";
  try {
    version = (JSON.parse(read("package.json")) as { version?: string }).version ?? version;
  } catch {
    // an unreadable package.json leaves "unknown"
  }
  const queuePatched = ["src/queue.js", "cjs/src/queue.js"].every((file) =>
    read(file).includes(PATCH_MARKER),
  );
  return { version, queuePatched };
}
