import { PGlite } from "@electric-sql/pglite";
import { afterEach, describe, expect, it } from "vitest";
import {
  type MigrationConnection,
  migrateUp,
  pgliteMigrationConnection,
  readMigrationFolder,
  readMigrationStatus,
  rollback,
  verifyRoundTrips,
} from "../../../src/migrator/index.js";
import { MIGRATIONS_FOLDER } from "../../../src/migrator/migrate.js";

// The embedded database (npm run dev) goes through the same runner; no server needed.
const instances: PGlite[] = [];
afterEach(async () => {
  for (const pglite of instances.splice(0)) await pglite.close();
});
async function embedded(): Promise<MigrationConnection> {
  const pglite = await PGlite.create("memory://");
  instances.push(pglite);
  return pgliteMigrationConnection(pglite);
}
const tables = async (connection: MigrationConnection) =>
  (
    await connection.query<{ name: string }>(
      "select tablename as name from pg_tables where schemaname = 'public' order by 1",
    )
  ).map((row) => row.name);

describe("the runner on embedded PGlite", () => {
  it("applies, reports and rolls back the template migrations", async () => {
    const connection = await embedded();
    const applied = await migrateUp(connection, { folder: MIGRATIONS_FOLDER });
    expect(applied.migrations).toHaveLength(readMigrationFolder(MIGRATIONS_FOLDER).length);
    expect(await tables(connection)).toEqual([
      "accounts",
      "audit_chain",
      "audit_log",
      "transfers",
      "users",
    ]);

    const status = await readMigrationStatus(connection, { folder: MIGRATIONS_FOLDER });
    expect(status.pending).toEqual([]);
    expect(status.appliedAt.size).toBe(applied.migrations.length);

    await rollback(connection, { folder: MIGRATIONS_FOLDER, to: "0000_init" });
    const [column] = await connection.query(
      "select 1 from information_schema.columns where table_name = 'accounts' and column_name = 'updated_at'",
    );
    expect(column).toBeUndefined();
  });

  it("round-trips every template migration", async () => {
    const report = await verifyRoundTrips(await embedded(), { folder: MIGRATIONS_FOLDER });
    expect(report.problems).toEqual([]);
  });
});
