/**
 * Bulk insert benchmark: 100,000 users by each `bulkInsert` method, against `psql \copy` of the
 * same rows on the same server in the same run, reported as rows/s and as a ratio to `\copy`.
 * Then the small-batch crossover that sets `COPY_THRESHOLD`, and the same load on PGlite.
 *
 *   npm run bench:bulk            # BENCH_DATABASE_URL (default: local server), BENCH_ROUNDS=5
 *
 * Not a test: numbers go to docs/data-layer.md. Every round runs every method in a new random
 * order on an emptied table, and the tables report medians.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { bulkInsert } from "../src/db/bulk.js";
import { createDatabase } from "../src/db/client.js";
import { encodeRows, planCopy } from "../src/db/copy.js";
import { users } from "../src/db/schema/index.js";
import { withTransaction } from "../src/db/transaction.js";
import { parseConfig } from "../src/env.js";
import { migrateDatabase } from "../src/migrator/migrate.js";
import { createScratchDatabase, fmt, interleaved, median, table } from "./harness.js";

// biome-ignore lint/style/noProcessEnv: bench harness
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROWS = 100_000;
/** One statement per row is ~100x slower; a tenth of the rows gives the same rate. */
const ONE_BY_ONE_ROWS = 10_000;

const userRows = (count: number, tag: string) =>
  Array.from({ length: count }, (_, i) => ({
    email: `${tag}.${String(i).padStart(6, "0")}@bench.example.com`,
    name: `Bench User ${i}`,
  }));

function psqlCopy(url: string, file: string) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(
      "psql",
      [url, "-v", "ON_ERROR_STOP=1", "-qc", `\\copy users (email, name) from '${file}'`],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`psql exited ${code}`))));
  });
}

async function serverBench() {
  const scratch = await createScratchDatabase();
  const database = await createDatabase(scratch.config());
  const admin = postgres(scratch.url, { max: 1, onnotice: () => undefined });
  const folder = await mkdtemp(join(tmpdir(), "bench-bulk-"));
  try {
    const rows = userRows(ROWS, "bulk");
    const plan = planCopy(users, rows);
    if (typeof plan === "string") throw new Error(plan);
    const file = join(folder, "users.copy");
    await writeFile(file, [...encodeRows(plan)].join(""));
    const empty = async () => {
      await admin`truncate users cascade`;
      await admin`checkpoint`;
    };
    const { db } = database;

    process.stderr.write(`bulk: ${ROWS.toLocaleString()} rows x ${ROUNDS} rounds\n`);
    const times = await interleaved(ROUNDS, {
      "psql \\copy": { before: empty, run: () => psqlCopy(scratch.url, file) },
      "bulkInsert, COPY": {
        before: empty,
        run: async () => void (await bulkInsert(db, users, rows, { method: "copy" })),
      },
      "bulkInsert, chunked INSERT": {
        before: empty,
        run: async () => void (await bulkInsert(db, users, rows, { method: "insert" })),
      },
      "one INSERT per row (in one transaction)": {
        before: empty,
        run: () =>
          withTransaction(db, async (tx) => {
            for (const row of rows.slice(0, ONE_BY_ONE_ROWS)) await tx.insert(users).values(row);
          }),
      },
    });
    const rate = (name: keyof typeof times) => {
      const count = name === "one INSERT per row (in one transaction)" ? ONE_BY_ONE_ROWS : ROWS;
      return (count / median(times[name])) * 1_000;
    };
    const baseline = rate("psql \\copy");
    const main = table(
      ["method", "rows", "median ms", "rows/s", "vs \\copy"],
      (Object.keys(times) as (keyof typeof times)[]).map((name) => [
        name,
        fmt(name.startsWith("one INSERT") ? ONE_BY_ONE_ROWS : ROWS),
        fmt(median(times[name])),
        fmt(rate(name)),
        fmt(rate(name) / baseline, 2),
      ]),
    );

    // Where COPY starts to pay off: small batches, many repetitions; plain, and through the
    // staging table that ON CONFLICT needs.
    const crossover: (string | number)[][] = [];
    const truncate = () => admin`truncate users cascade`.then(() => undefined);
    for (const size of [10, 50, 100, 500, 1_000, 5_000]) {
      const batch = userRows(size, `x${size}`);
      const reps = Math.max(ROUNDS, Math.min(40, Math.round(20_000 / size)));
      const load = (method: "copy" | "insert", onConflict: "error" | "do-nothing") => ({
        before: truncate,
        run: async () => void (await bulkInsert(db, users, batch, { method, onConflict })),
      });
      const small = await interleaved(reps, {
        copy: load("copy", "error"),
        insert: load("insert", "error"),
        stagedCopy: load("copy", "do-nothing"),
        insertDoNothing: load("insert", "do-nothing"),
      });
      crossover.push([
        fmt(size),
        fmt(median(small.insert), 2),
        fmt(median(small.copy), 2),
        fmt(median(small.insertDoNothing), 2),
        fmt(median(small.stagedCopy), 2),
      ]);
    }
    const threshold = table(
      ["rows", "INSERT ms", "COPY ms", "INSERT … DO NOTHING ms", "COPY via staging ms"],
      crossover,
    );
    return { main, threshold };
  } finally {
    await rm(folder, { recursive: true, force: true });
    await admin.end();
    await database.close();
    await scratch.drop();
  }
}

async function pgliteBench() {
  const database = await createDatabase(
    parseConfig({ PGLITE_DATA_DIR: "memory://", NODE_ENV: "production" }).database,
  );
  try {
    await migrateDatabase(database);
    const rows = userRows(ROWS, "pglite");
    const empty = async () => void (await database.db.execute(sql`truncate users cascade`));
    const rounds = Math.max(3, Math.ceil(ROUNDS / 2));
    process.stderr.write(`pglite: ${ROWS.toLocaleString()} rows x ${rounds} rounds\n`);
    const times = await interleaved(rounds, {
      "bulkInsert, COPY (/dev/blob)": {
        before: empty,
        run: async () => void (await bulkInsert(database.db, users, rows, { method: "copy" })),
      },
      "bulkInsert, chunked INSERT": {
        before: empty,
        run: async () => void (await bulkInsert(database.db, users, rows, { method: "insert" })),
      },
    });
    return table(
      ["method (PGlite, in memory)", "median ms", "rows/s"],
      (Object.keys(times) as (keyof typeof times)[]).map((name) => [
        name,
        fmt(median(times[name])),
        fmt((ROWS / median(times[name])) * 1_000),
      ]),
    );
  } finally {
    await database.close();
  }
}

const server = await serverBench();
const pglite = await pgliteBench();
console.log(`\n### ${ROWS.toLocaleString()} users, medians of ${ROUNDS} interleaved rounds\n`);
console.log(server.main);
console.log("\n### Small batches (COPY_THRESHOLD)\n");
console.log(server.threshold);
console.log("\n### Embedded PGlite\n");
console.log(pglite);
