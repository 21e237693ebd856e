/**
 * The pieces the security middleware is built from: bearer tokens and their constant-time
 * comparison, the client address behind proxies, and the security headers.
 */
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { describe, expect, it } from "vitest";
import { addressKey, forwardedClient } from "../../../src/security/client-address.js";
import { SECURE_HEADERS_OPTIONS, SECURITY_HEADERS } from "../../../src/security/headers.js";
import { bearerToken, createTokenVerifier } from "../../../src/security/tokens.js";

const TOKEN_A = "aaaaaaaaaaaaaaaaaaaa0123456789abcdef";
const TOKEN_B = "B-token_with.every~allowed+char/==";

describe("bearerToken", () => {
  it.each([
    [`Bearer ${TOKEN_A}`, TOKEN_A],
    [`bearer ${TOKEN_A}`, TOKEN_A],
    [`BEARER ${TOKEN_B}`, TOKEN_B],
  ])("reads %s", (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([
    undefined,
    "",
    TOKEN_A,
    `Basic ${TOKEN_A}`,
    `Bearer  ${TOKEN_A}`,
    `Bearer ${TOKEN_A} `,
    `Bearer ${TOKEN_A} extra`,
    "Bearer a=b",
    "Bearer ",
  ])("refuses %j", (header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});

describe("createTokenVerifier", () => {
  const verifier = createTokenVerifier([TOKEN_A, TOKEN_B]);

  it("accepts each configured token, with a stable id that doesn't contain it", () => {
    const a = verifier.verify(TOKEN_A);
    const b = verifier.verify(TOKEN_B);
    expect(a).toMatch(/^token:[0-9a-f]{8}$/);
    expect(b).toMatch(/^token:[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    expect(createTokenVerifier([TOKEN_B, TOKEN_A]).verify(TOKEN_A)).toBe(a);
    expect(a).not.toContain(TOKEN_A.slice(0, 8));
  });

  it.each([
    ["a prefix", TOKEN_A.slice(0, -1)],
    ["a longer string", `${TOKEN_A}x`],
    ["one character changed", `${TOKEN_A.slice(0, -1)}e`],
    ["another case", TOKEN_A.toUpperCase()],
    ["the empty string", ""],
    ["a much longer string", TOKEN_A.repeat(100)],
  ])("refuses %s of a token", (_case, presented) => {
    expect(verifier.verify(presented)).toBeUndefined();
  });

  it("refuses everything when no token is configured", () => {
    expect(createTokenVerifier([]).verify(TOKEN_A)).toBeUndefined();
  });
});

describe("forwardedClient", () => {
  const socket = "10.0.0.2";

  it("ignores X-Forwarded-For unless proxies are trusted", () => {
    expect(forwardedClient("203.0.113.9", socket, 0)).toBe(socket);
  });

  it("takes the entry the trusted proxies wrote, not what the client wrote before them", () => {
    const header = "198.51.100.66, 203.0.113.9, 192.0.2.1";
    expect(forwardedClient(header, socket, 1)).toBe("192.0.2.1");
    expect(forwardedClient(header, socket, 2)).toBe("203.0.113.9");
    expect(forwardedClient("2001:db8::1,192.0.2.1", socket, 2)).toBe("2001:db8::1");
  });

  it("falls back to the connection when the entry is missing or not an address", () => {
    expect(forwardedClient(undefined, socket, 1)).toBe(socket);
    expect(forwardedClient("", socket, 1)).toBe(socket);
    expect(forwardedClient("203.0.113.9, not-an-ip", socket, 1)).toBe(socket);
    expect(forwardedClient(`${"x".repeat(10_000)}`, socket, 1)).toBe(socket);
  });
});

describe("addressKey", () => {
  it("keeps IPv4 and IPv4-mapped addresses whole", () => {
    expect(addressKey("192.0.2.1")).toBe("192.0.2.1");
    expect(addressKey("::ffff:192.0.2.1")).toBe("::ffff:192.0.2.1");
  });

  it("keys IPv6 addresses by their /64, whatever their spelling", () => {
    const key = "2001:db8:0:1::/64";
    expect(addressKey("2001:db8:0:1:a:b:c:d")).toBe(key);
    expect(addressKey("2001:0DB8:0000:0001::1")).toBe(key);
    expect(addressKey("2001:db8:0:1::")).toBe(key);
    expect(addressKey("2001:db8:0:1::1%eth0")).toBe(key);
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("2001:db8:0:2::1")).not.toBe(key);
  });
});

describe("SECURITY_HEADERS", () => {
  it("are exactly what hono/secure-headers sets with SECURE_HEADERS_OPTIONS", async () => {
    const app = new Hono()
      .use(secureHeaders(SECURE_HEADERS_OPTIONS))
      .get("/", (c) => c.body(null, 204));
    const res = await app.request("/");
    const set = Object.fromEntries(res.headers);
    expect(set).toEqual(SECURITY_HEADERS);
  });
});
