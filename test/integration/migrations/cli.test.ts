import { describe, expect, it } from "vitest";
import { migrateUp } from "../../../src/migrator/index.js";
import {
  createEmptyDatabase,
  type FolderMigration,
  publicTables,
  rewriteMigrationFolder,
  runCli,
  writeMigrationFolder,
} from "./helpers.js";

const a: FolderMigration = {
  tag: "0000_a",
  when: 1_000,
  sql: 'CREATE TABLE "a" ("id" int);',
  down: 'DROP TABLE "a";',
};
const b: FolderMigration = {
  tag: "0001_b",
  when: 2_000,
  sql: 'CREATE TABLE "b" ("id" int);',
  down: 'DROP TABLE "b";',
};
const c: FolderMigration = { tag: "0002_c", when: 3_000, sql: 'CREATE TABLE "c" ("id" int);' };

interface StatusJson {
  exitCode: number;
  pending: number;
  drift: boolean;
  migrations: { tag: string; state: string; outOfOrder: boolean; down: string }[];
  missingFiles: unknown[];
}

// Every CLI run is a new process; on PGlite it also boots a WASM PostgreSQL (a second or more),
// and a test here makes up to five of them.
describe("db CLI", { timeout: 120_000 }, () => {
  it("status exits 3 with pending migrations, 0 once applied, and reports missing downs", async () => {
    const db = await createEmptyDatabase();
    const folder = writeMigrationFolder([a, b, c]);

    const pending = await runCli(["status", "--folder", folder], db);
    expect(pending.code).toBe(3);
    expect(pending.stdout).toMatch(/pending\s+0000_a/);
    expect(pending.stdout).toMatch(/no down: 0002_c \(missing/);
    expect(pending.stdout).toContain("`npm run db:generate -- --down-only TAG` generates");

    await migrateUp(await db.connect(), { folder });
    const clean = await runCli(["status", "--folder", folder, "--json"], db);
    expect(clean.code).toBe(0);
    const json = JSON.parse(clean.stdout) as StatusJson;
    expect(json).toMatchObject({ exitCode: 0, pending: 0, drift: false, missingFiles: [] });
    expect(json.migrations.map((m) => [m.tag, m.state, m.down])).toEqual([
      ["0000_a", "applied", "ready"],
      ["0001_b", "applied", "ready"],
      ["0002_c", "applied", "missing"],
    ]);
  });

  it("status exits 4 on drift and flags changed, missing and out-of-order migrations", async () => {
    const db = await createEmptyDatabase();
    const folder = writeMigrationFolder([a, c]);
    await migrateUp(await db.connect(), { folder });
    // 0000 edited after apply, 0002 deleted, 0001 merged from an older branch.
    rewriteMigrationFolder(folder, [{ ...a, sql: 'CREATE TABLE "a" ("id" bigint);' }, b]);

    const result = await runCli(["status", "--folder", folder], db);
    expect(result.code).toBe(4);
    expect(result.stdout).toMatch(/CHANGED\s+0000_a .*the file changed since it was applied/);
    expect(result.stdout).toMatch(/MISSING\s+row 2 .*applied, but no migration in the folder/);
    expect(result.stdout).toMatch(/pending\s+0001_b .*out of order/);

    const json = JSON.parse(
      (await runCli(["status", "--folder", folder, "--json"], db)).stdout,
    ) as StatusJson;
    expect(json).toMatchObject({ exitCode: 4, pending: 1, drift: true });
    expect(json.migrations[1]).toMatchObject({ tag: "0001_b", state: "pending", outOfOrder: true });
    expect(json.missingFiles).toHaveLength(1);

    // migrate refuses with the same exit code, and --allow-drift overrides.
    const refused = await runCli(["migrate", "--folder", folder], db);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("--allow-drift");
    const forced = await runCli(["migrate", "--folder", folder, "--allow-drift"], db);
    expect(forced.code).toBe(0);
    expect(await publicTables(await db.connect())).toEqual(["a", "b", "c"]);
  });

  it("refuses dangerous migrations in production without --allow-dangerous (exit 5)", async () => {
    const db = await createEmptyDatabase();
    const folder = writeMigrationFolder([a]);
    await migrateUp(await db.connect(), { folder });
    rewriteMigrationFolder(folder, [
      a,
      { tag: "0001_drop", when: 2_000, sql: 'ALTER TABLE "a" DROP COLUMN "id";' },
    ]);

    const production = { nodeEnv: "production" as const };
    const refused = await runCli(["migrate", "--folder", folder, "--no-backup"], db, production);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/0001_drop statement 1: drop-column/);

    // A dry run only previews, so even production just warns.
    const preview = await runCli(["migrate", "--folder", folder, "--dry-run"], db, production);
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/warning: 0001_drop statement 1: drops column public\.a\.id/);

    const allowed = await runCli(
      ["migrate", "--folder", folder, "--no-backup", "--allow-dangerous"],
      db,
      production,
    );
    expect(allowed.code).toBe(0);
  });

  it("rolls back with --steps and --to, and exits 2 on usage errors", async () => {
    const db = await createEmptyDatabase();
    const folder = writeMigrationFolder([a, b]);
    await migrateUp(await db.connect(), { folder });

    expect((await runCli(["rollback", "--folder", folder, "--to", "9_x"], db)).code).toBe(2);
    expect((await runCli(["rollback", "--steps", "0"], db)).code).toBe(2);
    expect((await runCli(["sideways"], db)).code).toBe(2);
    expect((await runCli(["migrate", "--bogus"], db)).code).toBe(2);
    expect((await runCli(["status", "--down-only", "0000_a"], db)).code).toBe(2);
    const generate = ["generate", "--folder", folder, "--down-only"];
    expect((await runCli([...generate, "0000_a", "--name", "x"], db)).code).toBe(2);
    const unknown = await runCli([...generate, "9_x"], db);
    expect(unknown).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("no migration tagged 9_x"),
    });

    const result = await runCli(["rollback", "--folder", folder, "--to", "0000_a"], db);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain("1 migration(s) rolled back");
    expect(await publicTables(await db.connect())).toEqual(["a"]);
  });
});
