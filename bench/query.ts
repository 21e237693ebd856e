/**
 * Point-query benchmark: select one user by id through Drizzle and through raw postgres.js,
 * with and without prepared statements, reported per query and as ratios.
 * This is the measurement behind ADR 0003 (docs/decisions/0003-prepared-statements.md).
 *
 *   npm run bench:query            # BENCH_DATABASE_URL, BENCH_ROUNDS=5, BENCH_QUERIES=2000
 *
 * Each variant has its own pool of one connection on the same scratch database and sends
 * queries one after another, so a number is one round trip plus client and server work.
 * Rounds run every variant in a new random order; the table reports medians.
 */
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { bulkInsert } from "../src/db/bulk.js";
import { createDatabase, postgresOptions } from "../src/db/client.js";
import { users } from "../src/db/schema/index.js";
import { createScratchDatabase, fmt, interleaved, median, table } from "./harness.js";

// biome-ignore lint/style/noProcessEnv: bench harness
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
// biome-ignore lint/style/noProcessEnv: bench harness
const QUERIES = Number(process.env.BENCH_QUERIES ?? 2_000);

const scratch = await createScratchDatabase();
const pool = { DATABASE_POOL_MAX: "1" };
const unprepared = await createDatabase(scratch.config({ ...pool, DATABASE_PREPARE: "false" }));
const prepared = await createDatabase(scratch.config(pool));
const raw = (prepare: boolean) =>
  postgres(scratch.url, { ...postgresOptions(scratch.config(pool)), prepare });
const rawUnprepared = raw(false);
const rawPrepared = raw(true);

try {
  const loaded = await bulkInsert(
    prepared.db,
    users,
    Array.from({ length: 10_000 }, (_, i) => ({
      email: `q${i}@bench.example.com`,
      name: `Q ${i}`,
    })),
  );
  process.stderr.write(`query: ${loaded.count} users, ${QUERIES} queries x ${ROUNDS} rounds\n`);
  const ids = (await prepared.db.select({ id: users.id }).from(users)).map((u) => u.id);
  const randomId = () => ids[Math.floor(Math.random() * ids.length)] ?? "";

  const byId = (db: typeof prepared.db, id: string) =>
    db.select().from(users).where(eq(users.id, id));
  // Built once, executed with a placeholder: no query building per call.
  const statement = prepared.db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder("id")))
    .prepare("user_by_id");
  // Drizzle straight on a postgres.js pool: what the template's instrumentation costs.
  const bare = drizzle({ client: rawPrepared, schema: { users } });
  const bareStatement = bare
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder("id")))
    .prepare("user_by_id");
  // The text Drizzle sends, so raw postgres.js runs the very same statement.
  const text = byId(prepared.db, "00000000-0000-4000-8000-000000000000").toSQL().sql;

  const variants = {
    "postgres.js, unprepared": (id: string) => rawUnprepared.unsafe(text, [id], { prepare: false }),
    "postgres.js, prepared": (id: string) => rawPrepared.unsafe(text, [id], { prepare: true }),
    "Drizzle, DATABASE_PREPARE=false": (id: string) => byId(unprepared.db, id),
    "Drizzle, DATABASE_PREPARE=true": (id: string) => byId(prepared.db, id),
    'Drizzle .prepare("user_by_id")': (id: string) => statement.execute({ id }),
    "Drizzle .prepare, uninstrumented pool": (id: string) => bareStatement.execute({ id }),
  };
  type Variant = keyof typeof variants;
  const run = (name: Variant) => async () => {
    for (let i = 0; i < QUERIES; i++) await variants[name](randomId());
  };
  for (const name of Object.keys(variants) as Variant[]) {
    for (let i = 0; i < 200; i++) await variants[name](randomId()); // warm up
  }
  const times = await interleaved(
    ROUNDS,
    Object.fromEntries(
      (Object.keys(variants) as Variant[]).map((name) => [name, { run: run(name) }]),
    ) as Record<Variant, { run: () => Promise<void> }>,
  );

  const perQuery = (name: Variant) => (median(times[name]) * 1_000) / QUERIES; // µs
  const baseline: Record<Variant, Variant> = {
    "postgres.js, unprepared": "postgres.js, unprepared",
    "postgres.js, prepared": "postgres.js, unprepared",
    "Drizzle, DATABASE_PREPARE=false": "postgres.js, unprepared",
    "Drizzle, DATABASE_PREPARE=true": "postgres.js, prepared",
    'Drizzle .prepare("user_by_id")': "postgres.js, prepared",
    "Drizzle .prepare, uninstrumented pool": "postgres.js, prepared",
  };
  console.log(`\n### Select a user by id, ${QUERIES} sequential queries, medians of ${ROUNDS}\n`);
  console.log(
    table(
      [
        "variant",
        "µs / query",
        "queries/s",
        "vs raw postgres.js (same prepare mode)",
        "vs unprepared Drizzle",
      ],
      (Object.keys(variants) as Variant[]).map((name) => [
        name,
        fmt(perQuery(name)),
        fmt(1e6 / perQuery(name)),
        fmt(perQuery(baseline[name]) / perQuery(name), 2),
        fmt(perQuery("Drizzle, DATABASE_PREPARE=false") / perQuery(name), 2),
      ]),
    ),
  );
} finally {
  await rawUnprepared.end();
  await rawPrepared.end();
  await unprepared.close();
  await prepared.close();
  await scratch.drop();
}
