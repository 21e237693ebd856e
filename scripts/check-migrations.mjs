#!/usr/bin/env node
// Proves the committed migrations match the schema: `drizzle-kit check` (journal and snapshots
// are consistent) and `drizzle-kit generate` would write nothing. Anything generate writes is
// removed again, so the check leaves the tree as it found it.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const folder = "drizzle";
const listing = () => new Set(walk(folder));
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}
const run = (args) =>
  spawnSync("npx", ["drizzle-kit", ...args], {
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
      "Run `npm run db:generate`, write the down migration, and commit the result.",
  );
  process.exit(1);
}
console.log("migrations match the schema (drizzle-kit check clean, generate has nothing to do)");
