#!/usr/bin/env node
/**
 * Fixes to installed dependencies that can't wait for a release (ADR 0006). `postinstall` runs
 * it, so every `npm install` and `npm ci` applies them; it has no dependencies of its own, so it
 * also runs in a production install (`npm ci --omit=dev`).
 *
 *   node scripts/patch-dependencies.mjs           # apply; exit 0 even when a fix no longer fits
 *   node scripts/patch-dependencies.mjs --check   # exit 1 unless every fix is in place
 *
 * A fix replaces whole files, and only the exact version it was written against (matched by
 * SHA-256): after an upgrade nothing is half-patched. The fix is skipped with a notice, and
 * `--check` (and the unit test of the fix) fail until someone looks: upstream may have fixed it,
 * and then the fix is deleted from this list.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";

/**
 * postgres.js 3.4.9 `Queue`: `shift()` leaves a hole at the front of its array and only resets
 * the array once it drains. The pool's `busy` queue never drains while every connection has work,
 * so it gains a slot per query, and `remove()` (an `indexOf` from 0) scans all of them on every
 * dispatch: on a saturated pool of 10 connections, `select 1` fell from 57,000 to 14,600 queries/s
 * within ten seconds. The fix searches from the live front and drops the consumed front once it
 * is half the array; the behaviour is otherwise the same line for line.
 */
const POSTGRES_QUEUE = `
// Patched by scripts/patch-dependencies.mjs (docs/decisions/0006-patched-postgres-queue.md):
// shift() compacts the consumed front and remove() searches from the live front, so a queue that
// never drains (the busy queue of a saturated pool) stays as long as its contents.
function Queue(initial = []) {
  let xs = initial.slice()
  let index = 0

  return {
    get length() {
      return xs.length - index
    },
    remove: (x) => {
      const at = xs.indexOf(x, index)
      return at === -1
        ? null
        : (xs.splice(at, 1), x)
    },
    push: (x) => (xs.push(x), x),
    shift: () => {
      const out = xs[index++]

      if (index === xs.length) {
        index = 0
        xs = []
      } else if (index >= 64 && index * 2 >= xs.length) {
        xs = xs.slice(index)
        index = 0
      } else {
        xs[index - 1] = undefined
      }

      return out
    }
  }
}
`;

const fixes = [
  {
    name: "postgres.js pool queue",
    packageName: "postgres",
    version: "3.4.9",
    // Each build's file: its first line (the export) is kept, the rest is replaced.
    files: ["src/queue.js", "cjs/src/queue.js", "cf/src/queue.js"],
    originalSha256: "49adac99f2b76063637969a092d751a0af2ab0ebfc095fc1c768db10eeaeaf2e",
    replacement: POSTGRES_QUEUE,
  },
];

const check = process.argv.includes("--check");
const root = new URL("../node_modules/", import.meta.url);
const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const problems = [];

for (const fix of fixes) {
  const packageRoot = new URL(`${fix.packageName}/`, root);
  let version;
  try {
    ({ version } = JSON.parse(readFileSync(new URL("package.json", packageRoot), "utf8")));
  } catch {
    problems.push(`${fix.name}: ${fix.packageName} is not installed`);
    continue;
  }
  for (const file of fix.files) {
    const url = new URL(file, packageRoot);
    const text = readFileSync(url, "utf8");
    const newline = text.indexOf("\n");
    const head = text.slice(0, newline);
    const body = text.slice(newline + 1);
    if (body === fix.replacement) continue;
    if (version === fix.version && sha256(body) === fix.originalSha256) {
      if (check) problems.push(`${fix.name}: ${fix.packageName}/${file} is not patched`);
      else writeFileSync(url, `${head}\n${fix.replacement}`);
      continue;
    }
    problems.push(
      `${fix.name}: ${fix.packageName}@${version}/${file} is not the file this fix was written ` +
        `for (${fix.packageName}@${fix.version}); left as it is. If upstream fixed the bug, ` +
        "delete the fix from scripts/patch-dependencies.mjs; otherwise port it.",
    );
  }
}

for (const problem of problems) console.error(`[patch-dependencies] ${problem}`);
if (check && problems.length > 0) {
  console.error(
    "[patch-dependencies] run `node scripts/patch-dependencies.mjs` to apply the fixes",
  );
  process.exit(1);
}
