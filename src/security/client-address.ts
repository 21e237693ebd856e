/**
 * Which client a request comes from, as a rate-limit key: the peer address of the connection,
 * or, behind trusted proxies, the address they report in `X-Forwarded-For`.
 */
import { isIP } from "node:net";

/**
 * The client's address from `X-Forwarded-For` when `trustedProxies` proxies sit in front of the
 * app, each appending the address it saw: the entry `trustedProxies` from the right. Entries
 * further left were written by the client and may be anything. With 0 proxies, no header, or an
 * entry that is not an IP address (so that no header can make a long key), the connection's own
 * address.
 *
 * @example
 * forwardedClient("203.0.113.9, 198.51.100.7", "10.0.0.2", 1); // "198.51.100.7"
 */
export function forwardedClient(
  header: string | undefined,
  socketAddress: string,
  trustedProxies: number,
): string {
  if (trustedProxies === 0 || !header) return socketAddress;
  const entries = header.split(",");
  const entry = entries[Math.max(0, entries.length - trustedProxies)]?.trim();
  return entry && isIP(entry) !== 0 ? entry : socketAddress;
}

/**
 * The rate-limit key of an address: IPv4 (and IPv4-mapped IPv6) addresses as they are, IPv6
 * addresses by their /64 prefix — one subscriber usually holds a whole /64, so keying by the
 * full address would give them 2^64 buckets.
 *
 * @example
 * addressKey("2001:db8:0:1:a:b:c:d"); // "2001:db8:0:1::/64"
 */
export function addressKey(address: string): string {
  if (!address.includes(":") || address.includes(".")) return address;
  const [head = "", tail] = (address.split("%")[0] ?? "").split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? left
      : [
          ...left,
          ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"),
          ...right,
        ];
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group || "0", 16).toString(16))
    .join(":")}::/64`;
}
