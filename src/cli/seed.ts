/**
 * `db:seed`: the deterministic demo data, or a ledger of any size for performance work.
 *
 *   npm run db:seed                                            # the demo data
 *   npm run db:seed -- --users 100000 --transfers 500000      # realistic size
 *
 * Progress goes to stderr (one updating line on a terminal, a line every few seconds in CI);
 * the summary to stdout. Exit codes: 0 seeded or already there, 1 failed, 2 usage, or demo data
 * of other options already in the database.
 */
import { parseSeedArgs, SEED_USAGE, UsageError } from "../../seeds/args.js";
import { SeedMismatchError, seed } from "../../seeds/index.js";
import { createProgressReporter } from "../../seeds/progress.js";
import { createDatabase } from "../db/client.js";
import { loadConfig, redactUrl } from "../env.js";
import { formatDuration } from "../inspect/format.js";

const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

async function main(args: readonly string[]): Promise<number> {
  const options = parseSeedArgs(args);
  if (options === "help") {
    console.log(SEED_USAGE);
    return EXIT.ok;
  }
  const config = loadConfig();
  // The seed writes: on the primary only.
  const database = await createDatabase({ ...config.database, replicas: [] });
  const progress = createProgressReporter(process.stderr);
  const started = performance.now();
  try {
    const inserted = await seed(database.db, { ...options, onProgress: progress.update });
    progress.done();
    const took = formatDuration((performance.now() - started) / 1000);
    console.log(
      `seeded ${redactUrl(config.database.url)}: ${JSON.stringify(inserted)} new rows in ${took}`,
    );
    return EXIT.ok;
  } finally {
    progress.done();
    await database.close();
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`db:seed: ${error.message}\n\n${SEED_USAGE}`);
    return EXIT.usage;
  }
  if (error instanceof SeedMismatchError) {
    console.error(`db:seed: ${error.message}`);
    return EXIT.usage;
  }
  // One line, never a stack: driver messages name the host and user, not the password.
  const message = error instanceof Error ? error.message : String(error);
  console.error(`db:seed: ${message.split("\n")[0]}`);
  return EXIT.failed;
});
