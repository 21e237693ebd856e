/**
 * `npm run db:audit -- --verify` as a process: usage errors, an intact log (exit 0, the head
 * printed), a tampered one (exit 1, the first broken link first), a server it can't reach.
 */
import { describe, expect, it } from "vitest";
import { createTestDatabase, NEEDS_SERVER, onRealServer } from "../../setup/test-database.js";
import { runAuditCli, tamper, writeLedger } from "./helpers.js";

describe("db:audit input checks (no server needed)", () => {
  it("exits 2 with the usage for bad or missing options, 0 with help", async () => {
    const [none, unknown, help] = await Promise.all([
      runAuditCli([], {}),
      runAuditCli(["--verify", "--frobnicate"], {}),
      runAuditCli(["-h"], {}),
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^db:audit: nothing to do: pass --verify/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^db:audit: unknown option --frobnicate/);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: npm run db:audit -- --verify");
  });

  it("exits 3 with one line, password hidden, when the server can't be reached", async () => {
    const result = await runAuditCli(["--verify"], {
      DATABASE_URL: "postgres://audit:s3cret-pw@127.0.0.1:1/app",
      DATABASE_CONNECT_TIMEOUT: "2",
    });
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^db:audit: could not check postgres:\/\/audit:\*\*\*@/);
    expect(result.stderr).not.toContain("s3cret-pw");
  });
});

describe.skipIf(!onRealServer())("db:audit --verify on a real server", () => {
  it(`exits 0 on an intact log and 1 once an entry is edited and another deleted (${NEEDS_SERVER})`, async () => {
    const scratch = await createTestDatabase();
    try {
      const env = { DATABASE_URL: scratch.url ?? "" };
      await writeLedger(scratch.database);

      const intact = await runAuditCli(["--verify"], env);
      expect(intact.code, intact.stderr).toBe(0);
      expect(intact.stdout).toMatch(/^ok: 6 audit entries in .*; head seq 6 hash [0-9a-f]{64}$/m);

      await tamper(
        scratch.database.db,
        "update audit_log set new_values = jsonb_set(new_values, '{balance}', '0') where seq = 2",
        "delete from audit_log where seq = 5",
      );
      const broken = await runAuditCli(["--verify"], env);
      expect(broken.code, broken.stderr).toBe(1);
      const lines = broken.stdout.trim().split("\n");
      expect(lines[0]).toBe("FAIL entry 2 was edited: its content no longer matches its hash");
      expect(lines[1]).toBe("FAIL entries 5 are missing (deleted)");
      expect(lines.at(-1)).toMatch(/^TAMPERED: 5 audit entries/);

      const json = await runAuditCli(["--verify", "--json"], env);
      expect(json.code).toBe(1);
      const report = JSON.parse(json.stdout);
      expect(report.ok).toBe(false);
      // The deleted entry was an account's last: its balance no longer matches the log either.
      expect(report.problems.map((p: { kind: string }) => p.kind)).toEqual([
        "edited",
        "missing",
        "balance_mismatch",
      ]);
    } finally {
      await scratch.drop();
    }
  });
});
