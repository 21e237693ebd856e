/**
 * Parameter hygiene of the catalogued hot queries (test/plans/queries.ts): each one, run with
 * two samples whose every value differs, must send the same SQL text both times, carry the
 * values as bound parameters (never as literals in the text), and the point reads must run as
 * their named prepared statements under the same names every time, in every process. A value
 * spliced into the text would give the server a new statement to parse, plan and keep per
 * distinct value, and pg_stat_statements and the query metrics one series per value.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { seed } from "../../../seeds/index.js";
import { createDatabase } from "../../../src/db/client.js";
import { decodeCursor } from "../../../src/db/pagination.js";
import { parseConfig } from "../../../src/env.js";
import { type CapturedStatement, captureStatements } from "../../plans/explain.js";
import { PLANNED_QUERIES, type PlannedQuery } from "../../plans/queries.js";
import { readSample, type Sample } from "../../plans/samples.js";
import { useTestDatabase } from "../../setup/test-database.js";

const testDb = useTestDatabase();
let samples: [Sample, Sample];

beforeAll(async () => {
  await seed(testDb.db);
  samples = [await readSample(testDb.db, 0.2), await readSample(testDb.db, 0.8)];
});

/** Every text value a request of the sample carries, cursors decoded into what they hold. */
function literalsOf(sample: Sample): string[] {
  const cursors = [sample.usersCursor, sample.accountTransfersCursor].map(decodeCursor);
  return [
    sample.userId,
    sample.usersCursor,
    sample.accountId,
    sample.accountTransfersCursor,
    sample.transferId,
    sample.newTransfer.fromAccountId,
    sample.newTransfer.toAccountId,
    sample.newTransfer.key,
    ...cursors.flatMap((cursor) => [cursor.id, cursor.createdAt.toISOString()]),
  ];
}

const run = (query: PlannedQuery, sample: Sample) =>
  captureStatements(testDb.database, () => query.run(testDb.db, sample));

describe("parameter hygiene of the hot queries", () => {
  it("compares samples that differ in every value", () => {
    const [a, b] = samples.map(literalsOf);
    for (const value of a ?? []) expect(b).not.toContain(value);
    expect(samples[0].pageSize).not.toBe(samples[1].pageSize);
    expect(samples[0].newTransfer.amount).not.toBe(samples[1].newTransfer.amount);
  });

  it.each(PLANNED_QUERIES.map((query) => [query.name, query] as const))(
    "%s sends one SQL text for any input, the input as bound parameters",
    async (_name, query) => {
      const first = await run(query, samples[0]);
      const second = await run(query, samples[1]);
      expect(first.length).toBeGreaterThan(0);
      expect(second.map((s) => s.sql)).toEqual(first.map((s) => s.sql));

      const literals = [...literalsOf(samples[0]), ...literalsOf(samples[1])];
      first.forEach((statement, i) => {
        for (const literal of literals) expect(statement.sql).not.toContain(literal);
        // Both samples' values reach the server, and only as parameters.
        if (statement.params.length > 0) {
          expect(second[i]?.params, statement.sql).not.toEqual(statement.params);
        }
      });
    },
  );
});

describe("prepared statement names", () => {
  const named = PLANNED_QUERIES.filter((query) => query.prepared !== undefined);

  it("cover the point reads", () => {
    expect(named.map((query) => query.prepared).sort()).toEqual([
      "account_by_id",
      "transfer_by_id",
      "user_by_id",
    ]);
  });

  it("are the same on every call and in every process", async () => {
    // A second database object stands for another process (on PGlite: the same one again,
    // its single connection can't be shared).
    const other = testDb.url
      ? await createDatabase(parseConfig({ DATABASE_URL: testDb.url, NODE_ENV: "test" }).database)
      : undefined;
    try {
      for (const query of named) {
        const runs: CapturedStatement[][] = [
          await run(query, samples[0]),
          await run(query, samples[1]),
        ];
        if (other) {
          runs.push(await captureStatements(other, () => query.run(other.db, samples[0])));
        }
        for (const statements of runs) {
          expect(statements.map((s) => s.operation)).toEqual([query.prepared]);
          expect(statements.map((s) => s.sql)).toEqual(runs[0]?.map((s) => s.sql));
        }
      }
    } finally {
      await other?.close();
    }
  });
});
