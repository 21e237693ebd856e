/**
 * TLS to a real server, through the template's own path (`parseConfig` -> `createDatabase`):
 * a private cluster that accepts only TLS connections (pg_hba `hostssl`) serves, one at a
 * time, a right certificate, one for another host name and an expired one, all signed by a
 * test CA. `verify-full` must connect only to the right one, naming why it refused the others;
 * `require` must encrypt without checking anything.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../../src/db/client.js";
import {
  AuthenticationError,
  ConnectionError,
  mapDatabaseError,
  TlsError,
} from "../../../src/db/errors.js";
import { parseConfig } from "../../../src/env.js";
import { createTestCertificates, type TestCertificates } from "../../setup/certificates.js";
import { type Cluster, clusterUnavailable, startCluster } from "../../setup/cluster.js";

const unavailable = clusterUnavailable({ tls: true });

describe.skipIf(unavailable)(`TLS to a private cluster ${unavailable ?? ""}`, () => {
  let certs: TestCertificates;
  let cluster: Cluster;

  beforeAll(async () => {
    certs = await createTestCertificates();
    cluster = await startCluster({ ssl: certs.server, tlsOnly: true });
  });
  afterAll(async () => {
    await cluster?.stop();
    certs?.remove();
  });

  /** The session's row of pg_stat_ssl, over a connection made as the app makes it. */
  async function sessionTls(env: Record<string, string>, host?: "localhost" | "127.0.0.1") {
    const config = parseConfig({
      NODE_ENV: "test",
      DATABASE_URL: cluster.url("postgres", undefined, host ? { host } : {}),
      DATABASE_CONNECT_TIMEOUT: "10",
      ...env,
    });
    const database = await createDatabase(config.database, { max: 1 });
    try {
      // `AppDatabase` spans both drivers, so `execute` is typed `unknown`; postgres.js returns rows.
      const rows = (await database.db.execute(
        sql`select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`,
      )) as unknown as { ssl: boolean; version: string | null }[];
      return rows[0];
    } finally {
      await database.close();
    }
  }

  /** The typed error a connection attempt fails with. */
  async function refusal(env: Record<string, string>, host?: "localhost" | "127.0.0.1") {
    const error = await sessionTls(env, host).then(
      () => undefined,
      (caught: unknown) => mapDatabaseError(caught),
    );
    expect(error, "the connection should have been refused").toBeInstanceOf(ConnectionError);
    return error as ConnectionError;
  }

  it.each(["localhost", "127.0.0.1"] as const)(
    "verify-full with the right CA connects to %s, encrypted",
    async (host) => {
      await cluster.useCertificate(certs.server);
      const tls = await sessionTls(
        { DATABASE_SSL: "verify-full", DATABASE_SSL_CA: certs.ca },
        host,
      );
      expect(tls).toMatchObject({ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/) });
    },
  );

  it("verify-full also reads the mode and the CA from the URL, as libpq does", async () => {
    await cluster.useCertificate(certs.server);
    const url = new URL(cluster.url("postgres", undefined, { host: "localhost" }));
    url.searchParams.set("sslmode", "verify-full");
    url.searchParams.set("sslrootcert", certs.ca);
    expect(await sessionTls({ DATABASE_URL: url.toString() })).toMatchObject({ ssl: true });
  });

  it("verify-full refuses a server whose CA is not the configured one", async () => {
    await cluster.useCertificate(certs.server);
    const error = await refusal({ DATABASE_SSL: "verify-full", DATABASE_SSL_CA: certs.otherCa });
    expect(error).toBeInstanceOf(TlsError);
    expect(error).toMatchObject({ reason: "untrusted" });
    expect(error.message).toMatch(/^server certificate is not trusted/);
  });

  it("verify-full without a CA file trusts only Node's public roots, not a private CA", async () => {
    await cluster.useCertificate(certs.server);
    const error = await refusal({ DATABASE_SSL: "verify-full" }, "localhost");
    expect(error).toMatchObject({ name: "TlsError", reason: "untrusted" });
  });

  it.each(["localhost", "127.0.0.1"] as const)(
    "verify-full refuses a certificate for another host name (connecting to %s)",
    async (host) => {
      await cluster.useCertificate(certs.wrongHost);
      const error = await refusal({ DATABASE_SSL: "verify-full", DATABASE_SSL_CA: certs.ca }, host);
      expect(error).toBeInstanceOf(TlsError);
      expect(error).toMatchObject({
        reason: "host_mismatch",
        code: "ERR_TLS_CERT_ALTNAME_INVALID",
      });
      expect(error.message).toContain("does not name the host");
    },
  );

  it("verify-full refuses an expired certificate", async () => {
    await cluster.useCertificate(certs.expired);
    const error = await refusal({ DATABASE_SSL: "verify-full", DATABASE_SSL_CA: certs.ca });
    expect(error).toBeInstanceOf(TlsError);
    expect(error.toJSON()).toMatchObject({
      name: "TlsError",
      reason: "expired",
      code: "CERT_HAS_EXPIRED",
    });
    expect(error.message).toMatch(/^server certificate has expired/);
  });

  it.each([
    ["an expired certificate", "expired"],
    ["a certificate for another host", "wrongHost"],
  ] as const)("require encrypts without verifying: it accepts %s", async (_case, which) => {
    await cluster.useCertificate(certs[which]);
    expect(
      await sessionTls({ DATABASE_SSL: "require", DATABASE_SSL_CA: certs.otherCa }),
    ).toMatchObject({
      ssl: true,
    });
  });

  it("a plaintext connection is refused by the server's hostssl-only pg_hba.conf", async () => {
    const error = await refusal({ DATABASE_SSL: "disable" });
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ code: "28000" });
  });
});
