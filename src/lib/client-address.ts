import ipaddr from "ipaddr.js";

/**
 * The client's address as every per-client counter of the gateway sees it: one spelling per address, and one
 * counter per IPv6 /64. Parsing and RFC 5952 formatting are ipaddr.js's (a well-kept library); this module
 * adds only what the counters need on top: strictness, IPv4-mapped addresses read as IPv4, and the /64.
 *
 * Why normalise: one IPv6 address has many spellings (`2001:DB8::1`, `2001:db8:0:0:0:0:0:1`), and an IPv4
 * client may reach us as IPv4-mapped IPv6 (`::ffff:192.0.2.1`, RFC 4291 section 2.5.5.2): counted by the
 * header's text, each spelling would be a fresh counter.
 * Why /64: an IPv6 subnet is a /64 (RFC 4291 section 2.5.4, RFC 7421), and a single customer or host
 * usually holds at least one whole /64 (RFC 6177), so a client can pick any of 2^64 addresses for each
 * request; counting per address would never limit it.
 */

/** Cloudflare sets it on every request to the client's address; a client cannot set it through Cloudflare. */
const CLIENT_ADDRESS_HEADER = "CF-Connecting-IP";

/** The key of requests whose address is missing or not an IP address (never the case behind Cloudflare). */
export const UNKNOWN_CLIENT = "unknown";

type IpAddress = { version: 4; bytes: Uint8Array } | { version: 6; bytes: Uint8Array };

/**
 * The address in `text` (surrounding whitespace ignored), else undefined. IPv4-mapped IPv6 (`::ffff:a.b.c.d`,
 * RFC 4291 section 2.5.5.2) is the IPv4 address it carries. Stricter than ipaddr.js alone: IPv4 only as four
 * decimal parts without leading zeros (`010` is octal to some parsers and decimal to others, so it is refused
 * rather than guessed; ipaddr.js also reads hex and fewer parts), and no zone ids (`fe80::1%eth0`) or brackets,
 * which are not addresses of a remote client.
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed.length > 45 || trimmed.includes("%")) return undefined;
  if (ipaddr.IPv4.isValidFourPartDecimal(trimmed)) {
    return { version: 4, bytes: Uint8Array.from(ipaddr.IPv4.parse(trimmed).toByteArray()) };
  }
  if (!ipaddr.IPv6.isValid(trimmed)) return undefined;
  const address = ipaddr.IPv6.parse(trimmed);
  if (address.isIPv4MappedAddress()) {
    return { version: 4, bytes: Uint8Array.from(address.toIPv4Address().toByteArray()) };
  }
  return { version: 6, bytes: Uint8Array.from(address.toByteArray()) };
}

/** The one text of an address: dotted decimal for IPv4 (mapped IPv6 included), RFC 5952 (section 4) for IPv6. */
export function formatIpAddress(address: IpAddress): string {
  const parsed = ipaddr.fromByteArray([...address.bytes]);
  return parsed instanceof ipaddr.IPv6 ? parsed.toRFC5952String() : parsed.toString();
}

/**
 * The counter key of the client at `header` (the CF-Connecting-IP value): the IPv4 address in dotted decimal,
 * or the IPv6 /64 as RFC 5952 text with its prefix length (`2001:db8:0:1::/64`); `UNKNOWN_CLIENT` when the
 * header is missing or not an IP address. Every spelling of one address, and every address of one IPv6 /64,
 * gives the same key. Every limit keyed by client address goes through this function.
 */
export function clientAddressKey(header: string | null | undefined): string {
  const address = header ? parseIpAddress(header) : undefined;
  if (!address) return UNKNOWN_CLIENT;
  if (address.version === 4) return formatIpAddress(address);
  const prefix = new Uint8Array(16);
  prefix.set(address.bytes.slice(0, 8));
  return `${formatIpAddress({ version: 6, bytes: prefix })}/64`;
}

/** clientAddressKey() of a request's CF-Connecting-IP header. */
export function clientAddressKeyOf(headers: Pick<Headers, "get">): string {
  return clientAddressKey(headers.get(CLIENT_ADDRESS_HEADER));
}
