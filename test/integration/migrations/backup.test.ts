import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/env.js";
import { backupDatabase, migrateUp, pgDumpAvailable } from "../../../src/migrator/index.js";
import { NEEDS_SERVER, onRealServer } from "../../setup/test-database.js";
import { createEmptyDatabase, serverUrl, writeMigrationFolder } from "./helpers.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const hasPgDump = await pgDumpAvailable();

describe.skipIf(!onRealServer() || !hasPgDump)(`backups (${NEEDS_SERVER}, pg_dump)`, () => {
  it("dumps in custom format, readable only by its owner, before the migration runs", async () => {
    const db = await createEmptyDatabase();
    const connection = await db.connect();
    await connection.execute(
      `create table "before_backup" ("id" int); insert into "before_backup" values (7);`,
    );
    const folder = writeMigrationFolder([{ tag: "0000_a", sql: 'DROP TABLE "before_backup";' }]);
    const dir = mkdtempSync(join(tmpdir(), "backups-"));
    dirs.push(dir);

    let file = "";
    await migrateUp(connection, {
      folder,
      beforeChange: async () => {
        file = await backupDatabase(db.config, { dir, label: "before-migrate" });
      },
    });

    expect(dirname(file)).toBe(dir);
    expect(file).toMatch(new RegExp(`${db.name}-.*-before-migrate\\.dump$`));
    expect(readFileSync(file).subarray(0, 5).toString()).toBe("PGDMP");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The dump holds the table the migration then dropped.
    const { stdout } = await promisify(execFile)("pg_restore", ["--list", file]);
    expect(stdout).toMatch(/TABLE public before_backup/);
  });

  it("fails with pg_dump's message and leaves no partial file", async () => {
    const db = await createEmptyDatabase();
    const dir = mkdtempSync(join(tmpdir(), "backups-"));
    dirs.push(dir);
    const missing = parseConfig({
      DATABASE_URL: serverUrl(db).replace(db.name, `${db.name}_nope`),
    });
    await expect(
      backupDatabase(missing.database, { dir, label: "before-migrate" }),
    ).rejects.toThrow(/pg_dump failed: .*does not exist/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
