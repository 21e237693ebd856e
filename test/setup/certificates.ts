/**
 * Throwaway certificates for TLS tests, made with the `openssl` command line (OpenSSL 3.0 and
 * later): a CA, server certificates it signs — one right, one for the wrong host name, one that
 * has expired — and an unrelated CA that signed none of them. EC keys: generated in
 * milliseconds, where RSA keys take a noticeable fraction of a second each on a busy machine.
 *
 * @example
 * const certs = await createTestCertificates();
 * const cluster = await startCluster({ ssl: certs.server });
 * // DATABASE_SSL=verify-full DATABASE_SSL_CA=certs.ca -> connects; DATABASE_SSL_CA=certs.otherCa -> TlsError
 * certs.remove();
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** PEM file paths of a server certificate and its private key. */
export interface CertificatePair {
  cert: string;
  key: string;
}

export interface TestCertificates {
  /** The CA that signed every server certificate below. */
  ca: string;
  /** A CA that signed none of them: trusting only it must refuse the server. */
  otherCa: string;
  /** For `localhost` and `127.0.0.1`, valid now. */
  server: CertificatePair;
  /** Valid now, but for `wrong.example` only. */
  wrongHost: CertificatePair;
  /** For `localhost` and `127.0.0.1`, but it expired yesterday. */
  expired: CertificatePair;
  /** Deletes the files (also done when the process exits). */
  remove(): void;
}

const LOCAL_NAMES = "DNS:localhost,IP:127.0.0.1";
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A fresh set of certificates in a new temporary folder. */
export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = mkdtempSync(join(tmpdir(), "pg-test-certs-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", remove);
  const file = (name: string) => join(dir, name);
  try {
    const [ca, otherCa] = await Promise.all([newCa(file, "ca"), newCa(file, "other-ca")]);
    const [server, wrongHost, expired] = await Promise.all([
      signed(file, ca, "server", "localhost", LOCAL_NAMES),
      signed(file, ca, "wrong-host", "wrong.example", "DNS:wrong.example"),
      signed(file, ca, "expired", "localhost", LOCAL_NAMES, { expiredSince: new Date() }),
    ]);
    return { ca: ca.cert, otherCa: otherCa.cert, server, wrongHost, expired, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

async function newCa(file: (name: string) => string, name: string): Promise<CertificatePair> {
  const pair = { cert: file(`${name}.crt`), key: file(`${name}.key`) };
  await run("openssl", [
    "req",
    "-x509",
    ...EC_KEY,
    ...["-keyout", pair.key, "-out", pair.cert, "-days", "2", "-subj", `/CN=Test ${name}`],
    ...["-addext", "basicConstraints=critical,CA:TRUE"],
    ...["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ]);
  return pair;
}

/**
 * A server certificate for `altNames`, signed by `ca`. `openssl x509 -req` can only start a
 * certificate's validity now; an expired one goes through `openssl ca`, whose `-startdate` and
 * `-enddate` take any dates (OpenSSL 3.4's `x509 -not_before` is not in 3.0 yet).
 */
async function signed(
  file: (name: string) => string,
  ca: CertificatePair,
  name: string,
  commonName: string,
  altNames: string,
  options: { expiredSince?: Date } = {},
): Promise<CertificatePair> {
  const pair = { cert: file(`${name}.crt`), key: file(`${name}.key`) };
  const request = file(`${name}.csr`);
  const extensions = file(`${name}.ext`);
  writeFileSync(
    extensions,
    `subjectAltName=${altNames}\nbasicConstraints=CA:FALSE\n` +
      "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  await run("openssl", [
    "req",
    "-new",
    ...EC_KEY,
    ...["-keyout", pair.key, "-out", request, "-subj", `/CN=${commonName}`],
  ]);
  const { expiredSince } = options;
  if (!expiredSince) {
    await run("openssl", [
      "x509",
      "-req",
      ...["-in", request, "-CA", ca.cert, "-CAkey", ca.key, "-set_serial", `0x${serial()}`],
      ...["-days", "2", "-extfile", extensions, "-out", pair.cert],
    ]);
    return pair;
  }
  const caDir = file(`${name}-ca`);
  const config = `${caDir}.cnf`;
  writeFileSync(`${caDir}.index`, "");
  writeFileSync(`${caDir}.serial`, `${serial()}\n`);
  writeFileSync(
    config,
    [
      "[ca]",
      "default_ca = test",
      "[test]",
      `database = ${caDir}.index`,
      `serial = ${caDir}.serial`,
      `new_certs_dir = ${file("")}`,
      "default_md = sha256",
      "policy = any",
      "unique_subject = no",
      "[any]",
      "commonName = supplied",
      "",
    ].join("\n"),
  );
  const day = 24 * 60 * 60 * 1000;
  await run("openssl", [
    "ca",
    "-batch",
    "-notext",
    ...["-config", config, "-cert", ca.cert, "-keyfile", ca.key, "-in", request],
    ...["-startdate", asn1Time(new Date(expiredSince.getTime() - 2 * day))],
    ...["-enddate", asn1Time(new Date(expiredSince.getTime() - day))],
    ...["-extfile", extensions, "-out", pair.cert],
  ]);
  return pair;
}

/** A random serial in hex (an even number of digits): certificates of one CA must not share one. */
const serial = () => randomBytes(8).toString("hex");

/** `YYYYMMDDHHMMSSZ`, the GeneralizedTime form `openssl ca` accepts. */
const asn1Time = (date: Date) => `${date.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
