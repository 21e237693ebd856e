/**
 * Node's TLS error codes -> why a database connection was refused at the TLS layer, for
 * `TlsError` (errors.ts). Node names OpenSSL's certificate verify results (`CERT_HAS_EXPIRED`,
 * ...) and its own host name check (`ERR_TLS_CERT_ALTNAME_INVALID`) in the error's `code`.
 */

/** `DATABASE_SSL=verify-full` checks the first three; `require` checks none of them. */
export type TlsFailure =
  | "untrusted"
  | "host_mismatch"
  | "expired"
  | "not_yet_valid"
  | "revoked"
  | "handshake_failed";

export const TLS_FAILURE_SUMMARIES: Record<TlsFailure, string> = {
  untrusted:
    "server certificate is not trusted: no CA in DATABASE_SSL_CA (or Node's roots) signed it",
  host_mismatch: "server certificate does not name the host of DATABASE_URL",
  expired: "server certificate has expired",
  not_yet_valid: "server certificate is not valid yet",
  revoked: "server certificate has been revoked",
  handshake_failed: "TLS handshake with the server failed",
};

const BY_CODE: Record<string, TlsFailure> = {
  UNABLE_TO_GET_ISSUER_CERT: "untrusted",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "untrusted",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "untrusted",
  SELF_SIGNED_CERT_IN_CHAIN: "untrusted",
  DEPTH_ZERO_SELF_SIGNED_CERT: "untrusted",
  CERT_SIGNATURE_FAILURE: "untrusted",
  CERT_UNTRUSTED: "untrusted",
  CERT_REJECTED: "untrusted",
  INVALID_CA: "untrusted",
  INVALID_PURPOSE: "untrusted",
  ERR_TLS_CERT_ALTNAME_INVALID: "host_mismatch",
  CERT_HAS_EXPIRED: "expired",
  CERT_NOT_YET_VALID: "not_yet_valid",
  CERT_REVOKED: "revoked",
  // A protocol error during the handshake: no TLS version or cipher in common. (A server with
  // `ssl = off` closes the connection instead: ECONNRESET, a plain ConnectionError.)
  EPROTO: "handshake_failed",
};

/** The failure `code` names, or undefined when it is not a TLS error code. */
export function tlsFailureOf(code: string): TlsFailure | undefined {
  return BY_CODE[code] ?? (/^ERR_(SSL|TLS)_/.test(code) ? "handshake_failed" : undefined);
}
