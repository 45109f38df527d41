/**
 * The client's address as every per-client counter of the gateway sees it: one spelling per address, and one
 * counter per IPv6 /64. Pure (no I/O), so it is tested on its own (test/worker/client-address.test.ts).
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

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;

/**
 * Dotted-decimal IPv4 as 4 bytes, else undefined. Strict: four decimal parts 0-255 without leading zeros
 * (`010` is octal to some parsers and decimal to others, so it is refused rather than guessed).
 */
function parseIpv4(text: string): Uint8Array | undefined {
  const parts = IPV4.exec(text);
  if (!parts) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i + 1] as string;
    if (part.length > 1 && part.startsWith("0")) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

/** Colon-separated groups (the last may be dotted IPv4: two groups) as 16-bit values, else undefined. */
function parseGroups(text: string, allowIpv4Tail: boolean): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (allowIpv4Tail && i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIpv4(part);
      if (!v4) return undefined;
      groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
    } else {
      if (!HEX_GROUP.test(part)) return undefined;
      groups.push(Number.parseInt(part, 16));
    }
  }
  return groups;
}

/** IPv6 text (RFC 4291 section 2.2: hex groups, one `::`, an optional dotted IPv4 tail) as 16 bytes. */
function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0] as string, false);
    const tail = parseGroups(halves[1] as string, true);
    // `::` stands for at least one group of zeros.
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...Array(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(text, true);
    if (all?.length !== 8) return undefined;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

const isIpv4Mapped = (bytes: Uint8Array) =>
  bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;

/**
 * The address in `text` (surrounding whitespace ignored), else undefined. IPv4-mapped IPv6 (`::ffff:a.b.c.d`,
 * RFC 4291 section 2.5.5.2) is the IPv4 address it carries. Zone ids (`fe80::1%eth0`) and brackets are not
 * addresses of a remote client and are refused.
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed.length > 45) return undefined;
  const v4 = parseIpv4(trimmed);
  if (v4) return { version: 4, bytes: v4 };
  const v6 = parseIpv6(trimmed);
  if (!v6) return undefined;
  return isIpv4Mapped(v6) ? { version: 4, bytes: v6.slice(12) } : { version: 6, bytes: v6 };
}

/**
 * IPv6 bytes as RFC 5952 text (section 4): lower-case hex without leading zeros, the longest run of two or more
 * zero groups (the first of equals) as `::`.
 */
function formatIpv6(bytes: Uint8Array): string {
  const groups = Array.from(
    { length: 8 },
    (_, i) => ((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number),
  );
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) [bestStart, bestLength] = [i, end - i];
    i = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** The one text of an address: dotted decimal for IPv4 (mapped IPv6 included), RFC 5952 for IPv6. */
export function formatIpAddress(address: IpAddress): string {
  return address.version === 4 ? address.bytes.join(".") : formatIpv6(address.bytes);
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
  return `${formatIpv6(prefix)}/64`;
}

/** clientAddressKey() of a request's CF-Connecting-IP header. */
export function clientAddressKeyOf(headers: Pick<Headers, "get">): string {
  return clientAddressKey(headers.get(CLIENT_ADDRESS_HEADER));
}
