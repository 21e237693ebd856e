/**
 * Ready-made embedded databases. A new PGlite database runs initdb inside WASM, which takes
 * seconds; loading a tarball of one that is already initialised (and migrated, and seeded)
 * takes a fraction of that. A snapshot is PGlite's own `dumpDataDir()` tarball, loaded through
 * its `loadDataDir` option (`createDatabase(config, { pgliteSnapshot })`).
 *
 * Snapshots are cached in `node_modules/.cache/pglite/`, beside the PGlite install they belong
 * to, and named by a hash of everything that shapes their contents: the PGlite release and the
 * files the caller lists (the migrations, the seed code). A change to any of them is a new name,
 * so a stale snapshot is never loaded; the one it replaces is deleted.
 *
 * @example
 * const file = snapshotFile({ name: "seeded", inputs: [MIGRATIONS_FOLDER, SEEDS_FOLDER] });
 * const snapshot = loadSnapshot(file); // undefined until a first run saves it
 * const database = await createDatabase(config, { pgliteSnapshot: snapshot });
 * if (!snapshot && database.pglite) {
 *   await migrateDatabase(database);
 *   await seed(database.db);
 *   await saveSnapshot(database.pglite, file);
 * }
 */
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, relative } from "node:path";
import { PGlite } from "@electric-sql/pglite";

export interface SnapshotKey {
  /** What the snapshot holds (`migrated`, `seeded`): the cache keeps one file per name. */
  name: string;
  /** Files and folders whose contents shape the snapshot; their bytes are part of its name. */
  inputs: readonly string[];
}

/** The PGlite package's folder and version: a data directory belongs to one PGlite release. */
function pgliteInstall(): { dir: string; version: string } {
  let dir = dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const { name, version } = JSON.parse(readFileSync(manifest, "utf8")) as {
        name?: string;
        version?: string;
      };
      if (name === "@electric-sql/pglite" && version) return { dir, version };
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("@electric-sql/pglite: package.json not found");
    dir = parent;
  }
}

function cacheDir(): string {
  // <node_modules>/@electric-sql/pglite -> <node_modules>/.cache/pglite
  return join(pgliteInstall().dir, "..", "..", ".cache", "pglite");
}

/** Every file under `path` (or `path` itself), in a stable order. */
function filesOf(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, encoding: "utf8" })
    .map((entry) => join(path, entry))
    .filter((file) => statSync(file).isFile())
    .sort();
}

/** The cache file for `key`; it may not exist yet. */
export function snapshotFile(key: SnapshotKey): string {
  const hash = createHash("sha256").update(`pglite ${pgliteInstall().version}\n`);
  for (const input of key.inputs) {
    for (const file of filesOf(input)) {
      hash.update(`${relative(input, file)}\n`).update(readFileSync(file));
    }
  }
  return join(cacheDir(), `${key.name}-${hash.digest("hex").slice(0, 16)}.tar`);
}

/** The snapshot in `file`, or undefined when there is none. */
export function loadSnapshot(file: string): Blob | undefined {
  try {
    return new Blob([readFileSync(file)]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Writes `pglite`'s data directory to `file` and deletes older snapshots of the same name.
 * The file appears complete or not at all (written aside, then renamed), so processes that
 * build the same snapshot at the same time can't see a half-written one.
 */
export async function saveSnapshot(pglite: PGlite, file: string): Promise<void> {
  const tarball = new Uint8Array(await (await pglite.dumpDataDir("none")).arrayBuffer());
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const partial = `${file}.${randomBytes(4).toString("hex")}.partial`;
  writeFileSync(partial, tarball);
  renameSync(partial, file);
  const current = basename(file);
  const prefix = current.replace(/[0-9a-f]{16}\.tar$/, "");
  for (const entry of readdirSync(dir)) {
    if (entry !== current && entry.startsWith(prefix) && entry.endsWith(".tar")) {
      rmSync(join(dir, entry), { force: true });
    }
  }
}

/**
 * True when `dataDir` holds no database yet, so a snapshot can be loaded into it (PGlite
 * refuses to load one over an existing database). `PG_VERSION` is the file every PostgreSQL
 * data directory starts with, and the one PGlite itself checks.
 */
export function isNewDataDir(dataDir: string): boolean {
  return dataDir.startsWith("memory://") || !existsSync(join(dataDir, "PG_VERSION"));
}

/**
 * The cached snapshot of a database as initdb leaves it (nothing migrated), built on first use;
 * returns its file. The starting point of the other snapshots, and of tests that need an empty
 * database rather than a migrated one.
 */
export async function initdbSnapshot(): Promise<string> {
  const file = snapshotFile({ name: "initdb", inputs: [] });
  if (existsSync(file)) return file;
  const pglite = await PGlite.create("memory://");
  try {
    await saveSnapshot(pglite, file);
  } finally {
    await pglite.close();
  }
  return file;
}
