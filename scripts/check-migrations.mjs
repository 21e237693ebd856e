#!/usr/bin/env -S npx tsx
// Proves the committed migrations match the schema: `drizzle-kit check` (journal and snapshots
// are consistent) and `drizzle-kit generate` would write nothing. Anything generate writes is
// removed again, so the check leaves the tree as it found it. Then every migration must have
// a down file with SQL in it (`npm run db:generate -- --down-only TAG` generates one), and every
// .sql file must belong to a journal entry.
// Run through tsx (`npm run db:check`): it reads the folder with the runner's own code. Runs in
// the working directory's project: drizzle.config.ts and the drizzle/ folder beside it.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readMigrationFolder } from "../src/migrator/files.js";
import { drizzleKitCommand } from "../src/migrator/generate.js";

const folder = "drizzle";
const listing = () => new Set(walk(folder));
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}
const drizzleKit = drizzleKitCommand();
const run = (args) =>
  spawnSync(drizzleKit.command, [...drizzleKit.args, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });

const check = run(["check"]);
if (check.status !== 0) {
  process.stderr.write(check.stdout + check.stderr);
  console.error("drizzle-kit check failed: the migration journal or snapshots are inconsistent");
  process.exit(1);
}

const before = listing();
const journalPath = join(folder, "meta", "_journal.json");
const journal = readFileSync(journalPath, "utf8");
const generate = run(["generate", "--name", "drift_check"]);
const added = [...listing()].filter((file) => !before.has(file));
for (const file of added) rmSync(file);
if (added.length > 0) writeFileSync(journalPath, journal);

if (generate.status !== 0) {
  process.stderr.write(generate.stdout + generate.stderr);
  process.exit(1);
}
if (added.length > 0) {
  console.error(
    "Schema drift: src/db/schema differs from the committed migrations.\n" +
      "Run `npm run db:generate` (it writes the migration and its down file), review the down " +
      "file, and commit the result.",
  );
  process.exit(1);
}

const migrations = readMigrationFolder(folder);
const withoutDown = migrations.filter((migration) => migration.down.state !== "ready");
const known = new Set(migrations.flatMap((m) => [m.file, m.down.file]));
const strays = walk(folder).filter((file) => file.endsWith(".sql") && !known.has(file));
if (withoutDown.length > 0 || strays.length > 0) {
  for (const { tag, down } of withoutDown) {
    console.error(
      `down migration ${down.state}: ${down.file} (generate it: npm run db:generate -- ` +
        `--down-only ${tag}; a --custom migration's down is written by hand)`,
    );
  }
  for (const file of strays) console.error(`not in the journal: ${file}`);
  console.error(
    "Every migration needs a down file with the SQL that undoes it, and every .sql file in " +
      "drizzle/ must belong to a journal entry.",
  );
  process.exit(1);
}
console.log(
  `migrations match the schema (drizzle-kit check clean, generate has nothing to do); ` +
    `${migrations.length} down files present`,
);
