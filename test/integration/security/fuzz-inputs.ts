/**
 * Hostile inputs for the API fuzz test (fuzz.test.ts), as fast-check arbitraries: SQL injection
 * payloads, wrong types, numbers past every bound, unicode edge cases, NUL bytes, deep JSON, and
 * malformed percent-encoding, JSON text and headers.
 */
import fc from "fast-check";

const SQL_PAYLOADS = [
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  "1; SELECT pg_sleep(5)",
  "' UNION SELECT email, name FROM users --",
  "'||(select version())||'",
  '"); DELETE FROM accounts; --',
  "$1",
  "%' AND 1=0 --",
  "\\'; TRUNCATE audit_log; --",
  "ab@example.com' --",
  "00000000-0000-0000-0000-000000000000' OR 1=1 --",
];

const UNICODE_EDGES = [
  "\u0000",
  "a\u0000b@example.com",
  "\uD800",
  "x\uDFFFy",
  "\uFEFF",
  "\u202Eevil",
  "e\u0301",
  "𝕏🙂",
  "🙂".repeat(201),
  "\u2028\u2029",
  "Ａ@ｅｘａｍｐｌｅ.ｃｏｍ",
  "İı",
  "\u200B",
  "",
  " ",
];

/** Strings an attacker would try, and random ones of every unit. */
export const hostileString = fc.oneof(
  fc.constantFrom(...SQL_PAYLOADS, ...UNICODE_EDGES),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`),
  fc.constantFrom("x".repeat(321), "y".repeat(5_000)),
);

/** A JSON number literal past what JavaScript or a bigint holds, spliced in as raw text. */
export const RAW = (literal: string) => `@@raw:${literal}@@`;

export const hostileNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(2 ** 53, 2 ** 53 + 2, -1, 0, 1.5, -0, Number.MAX_VALUE, Number.MIN_VALUE, 1e21),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map((n) => RAW(n.toString())),
  fc.constantFrom(RAW("1e999"), RAW("-1e999"), RAW("9223372036854775808"), RAW("1.0e2")),
);

/** JSON nested `depth` deep: arrays or objects. */
export const deepJson = fc
  .record({ depth: fc.integer({ min: 100, max: 20_000 }), objects: fc.boolean() })
  .map(({ depth, objects }) =>
    RAW(
      objects
        ? `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`
        : `${"[".repeat(depth)}${"]".repeat(depth)}`,
    ),
  );

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 3, arbitrary: hostileNumber },
  fc.constantFrom(true, false, null),
  fc.array(hostileString, { maxLength: 3 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
  deepJson,
);

/** A path segment: a known id, a random UUID, or hostile text, encoded or malformed. */
export const pathSegment = (knownIds: readonly string[]) =>
  fc.oneof(
    fc.constantFrom(...knownIds),
    fc.uuid(),
    hostileString.map(encodeSegment),
    fc.constantFrom("%", "%ZZ", "%00", "%E0%A4%A", "..%2F..%2Fetc", "%2e%2e", "a%20b", "%F0%9F"),
  );

function encodeSegment(text: string): string {
  try {
    return encodeURIComponent(text) || "%20";
  } catch {
    // A lone surrogate can't be UTF-8: send its replacement bytes, as a browser would.
    return "%EF%BF%BD";
  }
}

/** Header values as HTTP can carry them: latin-1, no CR, LF or NUL. */
export const headerValue = fc.oneof(
  fc.constantFrom("", " ", "Bearer", "Bearer ", "Basic YTpi", "' OR 1=1 --", "x".repeat(300)),
  fc
    .string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)) })
    .map((s) => s.slice(0, 300)),
);

/** Bodies that aren't JSON a handler could read. */
export const malformedBody = fc.constantFrom(
  "",
  "{",
  '{"email":',
  "null",
  "[]",
  "\u0000",
  '{"a":1,"a":2}',
  '{"__proto__":{"admin":true}}',
  "\uFEFF{}",
  "NaN",
  "'single'",
);

export const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=utf-16",
  "text/plain",
  "application/x-www-form-urlencoded",
  "application/problem+json",
  "",
);

/** JSON text of `value`, with RAW(...) markers replaced by their literal text. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value).replaceAll(/"@@raw:(.*?)@@"/g, (_, escaped: string) =>
    JSON.parse(`"${escaped}"`),
  );
}
