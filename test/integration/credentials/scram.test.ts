/**
 * Password authentication against a real server that demands it: a private cluster whose
 * pg_hba.conf says `scram-sha-256` for every TCP connection, and a role with a password.
 * Connections go through the template's own path (`parseConfig` -> `createDatabase`), with the
 * password in DATABASE_URL or in DATABASE_PASSWORD_FILE. A refused password must come back as
 * a typed error, and neither the right nor the wrong password may appear in any form of it, nor
 * in the log lines written about it.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../../src/db/client.js";
import { AuthenticationError, mapDatabaseError } from "../../../src/db/errors.js";
import { parseConfig } from "../../../src/env.js";
import { captureLogs } from "../../setup/app.js";
import { type Cluster, clusterUnavailable, startCluster } from "../../setup/cluster.js";

const unavailable = clusterUnavailable();

/**
 * A random core makes any leak findable whatever form it takes (raw, percent-encoded,
 * JSON-escaped); the rest exercises the URL encoding of the password.
 */
const secret = (label: string) => {
  const core = `${label}${randomBytes(8).toString("hex")}`;
  return { core, password: `${core}%@:/ x&?#` };
};
const RIGHT = secret("right");
const WRONG = secret("wrong");

const expectNoPassword = (text: string) => {
  expect(text).not.toContain(RIGHT.core);
  expect(text).not.toContain(WRONG.core);
};

describe.skipIf(unavailable)(`SCRAM-SHA-256 on a private cluster ${unavailable ?? ""}`, () => {
  let cluster: Cluster;
  let folder: string;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), "pg-secrets-"));
    cluster = await startCluster({
      auth: "scram-sha-256",
      users: [{ name: "app", password: RIGHT.password }],
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  /** A file like a Docker or Kubernetes secret: the password, usually with a line break. */
  const secretFile = (content: string) => {
    const path = join(folder, `password-${randomBytes(4).toString("hex")}`);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };

  /** `current_user` of a session opened as the app opens it, or the typed error it failed with. */
  async function connectAs(env: Record<string, string>, logs = captureLogs()) {
    const config = parseConfig({ NODE_ENV: "test", DATABASE_CONNECT_TIMEOUT: "10", ...env });
    const database = await createDatabase(config.database, { max: 1, logger: logs.logger });
    try {
      // `AppDatabase` spans both drivers, so `execute` is typed `unknown`; postgres.js returns rows.
      const rows = (await database.db.execute(sql`select current_user as user`)) as unknown as {
        user: string;
      }[];
      return { user: rows[0]?.user, error: undefined };
    } catch (error) {
      return { user: undefined, error: mapDatabaseError(error), raw: error };
    } finally {
      await database.close();
    }
  }

  it("stores the password as a SCRAM-SHA-256 verifier and accepts it", async () => {
    const [stored] = await cluster.admin(
      (admin) => admin`select rolpassword from pg_authid where rolname = 'app'`,
    );
    expect(String(stored?.rolpassword)).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(await connectAs({ DATABASE_URL: cluster.url("app", RIGHT.password) })).toMatchObject({
      user: "app",
    });
  });

  it("refuses a connection without a password: the server really asks for one", async () => {
    const { error } = await connectAs({ DATABASE_URL: cluster.url("app") });
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ code: "28P01" });
  });

  it("refuses a wrong password with a typed error that holds neither password", async () => {
    const logs = captureLogs("debug");
    const url = cluster.url("app", WRONG.password);
    const { error, raw } = await connectAs({ DATABASE_URL: url }, logs);
    expect(error).toBeInstanceOf(AuthenticationError);
    const typed = error as AuthenticationError;
    expect(typed.toJSON()).toEqual({
      name: "AuthenticationError",
      message: "password authentication failed (SQLSTATE 28P01)",
      code: "28P01",
      schema: undefined,
      table: undefined,
      column: undefined,
      constraint: undefined,
    });
    for (const form of [typed.message, JSON.stringify(typed), typed.stack ?? "", inspect(typed)]) {
      expectNoPassword(form);
    }

    // Logged the ways a caller would: typed, raw (pino's error as first argument), and next to
    // the connection settings under the keys whose serializers redact them.
    logs.logger.error({ err: typed }, "database unavailable");
    logs.logger.error(raw as Error);
    logs.logger.warn({ url, databaseUrl: url, database: url }, "connection settings");
    logs.logger.error(new Error(`could not reach ${url}`), "wrapped by a tool");
    // The query log's own line about the failed query is among them too.
    const line = (msg: string) => logs.lines.find((entry) => entry.msg === msg);
    expectNoPassword(JSON.stringify(logs.lines));
    expect(line("database unavailable")?.err).toMatchObject({ name: "AuthenticationError" });
    expect(line("error")?.err).toMatchObject({ name: "AuthenticationError", code: "28P01" });
    expect(line("connection settings")?.url).toMatch(/^postgres:\/\/app:\*\*\*@127\.0\.0\.1:/);
    expect(JSON.stringify(line("wrapped by a tool"))).toContain(
      "could not reach postgres://app:***@",
    );
  });

  it("reads the password from DATABASE_PASSWORD_FILE, without the trailing line break", async () => {
    for (const ending of ["", "\n", "\r\n"]) {
      const result = await connectAs({
        DATABASE_URL: cluster.url("app"),
        DATABASE_PASSWORD_FILE: secretFile(`${RIGHT.password}${ending}`),
      });
      expect(result, JSON.stringify(ending)).toMatchObject({ user: "app", error: undefined });
    }
  });

  it("refuses a wrong password from the file the same way", async () => {
    const { error } = await connectAs({
      DATABASE_URL: cluster.url("app"),
      DATABASE_PASSWORD_FILE: secretFile(`${WRONG.password}\n`),
    });
    expect(error).toBeInstanceOf(AuthenticationError);
    expectNoPassword(`${JSON.stringify(error)} ${inspect(error)}`);
  });
});
