/**
 * `db generate`: `drizzle-kit generate` (its CLI, so its prompts and output are the ones its
 * documentation describes), then a generated down file for every migration it added.
 * drizzle-kit's CLI is started as its package declares it (`bin`), with this process's Node:
 * what `npx drizzle-kit` runs, without npx's lookup on every call.
 *
 * The migrations folder is the drizzle config's `out`, resolved from the working directory as
 * drizzle-kit resolves it, so the up and the down always land in the same folder.
 *
 * @example
 * const { added } = await generateMigrationFiles({ name: "notes", log: console.log });
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type GeneratedDown, writeDownMigration } from "./down-generator.js";
import { readJournalTags } from "./files.js";

export const DEFAULT_DRIZZLE_CONFIG = "drizzle.config.ts";

export interface GenerateOptions {
  /** drizzle-kit's config file; default `drizzle.config.ts` in the working directory. */
  config?: string;
  /** The migration's name (`--name`). */
  name?: string;
  /** An empty migration for hand-written SQL (`--custom`); its down is a scaffold to fill in. */
  custom?: boolean;
  log?: (line: string) => void;
}

export interface GenerateResult {
  folder: string;
  /** Tags drizzle-kit added to the journal; empty when the schema had not changed. */
  added: string[];
  downs: GeneratedDown[];
}

/** Runs `drizzle-kit generate`, then writes the down file of each migration it added. */
export async function generateMigrationFiles(options: GenerateOptions): Promise<GenerateResult> {
  const config = options.config ?? DEFAULT_DRIZZLE_CONFIG;
  const folder = await readMigrationsFolder(config);
  const before = readJournalTags(folder);
  const drizzleKit = drizzleKitCommand();
  const result = spawnSync(
    drizzleKit.command,
    [
      ...drizzleKit.args,
      "generate",
      "--config",
      config,
      ...(options.name ? ["--name", options.name] : []),
      ...(options.custom ? ["--custom"] : []),
    ],
    // Inherited, so drizzle-kit can ask about renames in a terminal.
    { stdio: "inherit" },
  );
  if (result.status !== 0) {
    throw new Error(`drizzle-kit generate failed (exit ${result.status ?? result.signal})`);
  }
  const added = readJournalTags(folder).filter((tag) => !before.includes(tag));
  const downs: GeneratedDown[] = [];
  for (const tag of added) {
    downs.push(await writeDownMigration(folder, tag, options.log ? { log: options.log } : {}));
  }
  return { folder, added, downs };
}

/**
 * The drizzle config's `out` folder (drizzle-kit's default `drizzle` when unset), relative to
 * the working directory as drizzle-kit resolves it. The config is a TypeScript module: this
 * runs under tsx.
 */
export async function readMigrationsFolder(config: string): Promise<string> {
  const module = (await import(pathToFileURL(resolve(config)).href)) as {
    default?: { out?: unknown };
  };
  const out = module.default?.out;
  return relative(process.cwd(), resolve(typeof out === "string" ? out : "drizzle")) || ".";
}

/**
 * The command that starts drizzle-kit's CLI: this Node and the package's `bin` script.
 *
 * @example
 * const { command, args } = drizzleKitCommand();
 * spawnSync(command, [...args, "check"], { stdio: "inherit" });
 */
export function drizzleKitCommand(): { command: string; args: string[] } {
  let dir = dirname(createRequire(import.meta.url).resolve("drizzle-kit"));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  const { bin } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    bin: string | Record<string, string>;
  };
  const script = typeof bin === "string" ? bin : bin["drizzle-kit"];
  if (!script) throw new Error(`drizzle-kit's package.json in ${dir} declares no drizzle-kit bin`);
  return { command: process.execPath, args: [join(dir, script)] };
}
