/**
 * What the upgrade canary runs (scripts/deps-canary.mjs): its options, the packages it watches
 * and one configuration per table row. No I/O, so test/unit/deps-canary.test.ts covers it.
 */

/** The dependencies whose upgrades most often break a project cloned from this template. */
export const CANARY_PACKAGES = Object.freeze([
  "postgres",
  "drizzle-orm",
  "drizzle-kit",
  "@electric-sql/pglite",
  "hono",
  "@hono/node-server",
  "@hono/zod-openapi",
]);

export const USAGE = `usage: npm run deps:canary -- [options]
  --only <pkg,...>     limit to these dependencies (default: ${CANARY_PACKAGES.join(", ")})
  --skip-individual    run only the all-together configuration
  --baseline           also run the lockfile as is, to tell old failures from new ones
  --markdown <file>    write the result as Markdown
  --json <file>        write the result as JSON
  --untracked          copy untracked files too (those .gitignore does not exclude)
  --keep               keep the temporary folder (copy, logs, vitest reports)
`;

export class UsageError extends Error {}

/** Parses the command line; throws UsageError for anything it does not know. */
export function parseArgs(argv) {
  const options = {
    keep: false,
    skipIndividual: false,
    baseline: false,
    untracked: false,
    help: false,
  };
  const flags = {
    "--keep": "keep",
    "--skip-individual": "skipIndividual",
    "--baseline": "baseline",
    "--untracked": "untracked",
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = splitOption(argv[i]);
    const value = () => {
      const next = inline ?? argv[++i];
      if (next === undefined || next === "" || next.startsWith("--")) {
        throw new UsageError(`${flag} needs a value`);
      }
      return next;
    };
    if (flag in flags && inline === undefined) options[flags[flag]] = true;
    else if (flag === "--help" || flag === "-h") options.help = true;
    else if (flag === "--markdown" || flag === "--json") options[flag.slice(2)] = value();
    else if (flag === "--only") {
      options.only = [...new Set(value().split(","))].map((s) => s.trim()).filter(Boolean);
    } else throw new UsageError(`unknown option ${argv[i]}`);
  }
  return options;
}

function splitOption(arg) {
  const at = arg.indexOf("=");
  return arg.startsWith("--") && at > 0 ? [arg.slice(0, at), arg.slice(at + 1)] : [arg, undefined];
}

/** Orders semver versions (numeric core, then a release above its prereleases). */
export function compareVersions(a, b) {
  const [coreA = "", preA] = a.split("-", 2);
  const [coreB = "", preB] = b.split("-", 2);
  const partsA = coreA.split(".").map(Number);
  const partsB = coreB.split(".").map(Number);
  for (let i = 0; i < Math.max(partsA.length, partsB.length); i++) {
    const diff = (partsA[i] ?? 0) - (partsB[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  if (preA === preB) return 0;
  if (preA === undefined) return 1;
  if (preB === undefined) return -1;
  return preA.localeCompare(preB, "en", { numeric: true });
}

/**
 * The table's rows, in order: what each configuration upgrades, or why it is skipped. `sameAs`
 * marks an all-together run identical to one individual run, which is then not repeated.
 */
export function planRuns(packages, { skipIndividual = false, baseline = false } = {}) {
  const behind = packages.filter(
    (p) =>
      p.current !== undefined && p.newest !== undefined && compareVersions(p.newest, p.current) > 0,
  );
  const rows = [];
  if (baseline) rows.push({ kind: "baseline", label: "lockfile as is", upgrades: [] });
  for (const p of packages) {
    const row = { kind: "individual", label: p.name, current: p.current, newest: p.newest };
    if (p.current === undefined) row.skip = "not a dependency of this project";
    else if (!behind.includes(p)) row.skip = "already the newest release";
    else if (skipIndividual) row.skip = "--skip-individual";
    rows.push({ ...row, upgrades: row.skip ? [] : [upgradeOf(p)] });
  }
  const together = { kind: "together", label: "all together", upgrades: behind.map(upgradeOf) };
  if (behind.length === 0) together.skip = "nothing to upgrade";
  else if (behind.length === 1 && !skipIndividual) together.sameAs = behind[0]?.name;
  rows.push(together);
  return rows;
}

const upgradeOf = (p) => ({ name: p.name, from: p.current, to: p.newest });
