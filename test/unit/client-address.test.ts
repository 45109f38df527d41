import { describe, expect, it } from "vitest";
import {
  clientAddressKey,
  clientAddressKeyOf,
  formatIpAddress,
  parseIpAddress,
  UNKNOWN_CLIENT,
} from "../../src/lib/client-address";

// The one function every per-client counter keys by (src/lib/client-address.ts): one key per IPv4 address and
// per IPv6 /64, whatever the spelling.

const text = (input: string) => {
  const address = parseIpAddress(input);
  return address ? formatIpAddress(address) : undefined;
};

describe("client address: parsing and the one spelling (RFC 4291 2.2, RFC 5952 4)", () => {
  it("gives every spelling of one IPv6 address the same text", () => {
    const spellings = [
      "2001:db8::1",
      "2001:DB8::1",
      "2001:0db8:0000:0000:0000:0000:0000:0001",
      "2001:db8:0:0:0:0:0:1",
      "2001:db8::0:1",
      " 2001:db8::1 ",
    ];
    for (const spelling of spellings) expect(text(spelling)).toBe("2001:db8::1");
  });

  it("compresses the longest run of zero groups, the first of equals, never a single group", () => {
    expect(text("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(text("2001:0:0:1:0:0:0:1")).toBe("2001:0:0:1::1");
    expect(text("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(text("::")).toBe("::");
    expect(text("::1")).toBe("::1");
    expect(text("1::")).toBe("1::");
    expect(text("1:2:3:4:5:6:7::")).toBe("1:2:3:4:5:6:7:0");
  });

  it("reads IPv4-mapped IPv6 as the IPv4 address it carries, in any spelling", () => {
    for (const spelling of [
      "::ffff:192.0.2.1",
      "::FFFF:192.0.2.1",
      "::ffff:c000:201",
      "0:0:0:0:0:ffff:192.0.2.1",
    ])
      expect(parseIpAddress(spelling)).toEqual({ version: 4, bytes: new Uint8Array([192, 0, 2, 1]) });
    // NAT64 addresses are IPv6 addresses of their own. The deprecated IPv4-compatible form (RFC 4291 2.5.5.1)
    // ipaddr.js reads as mapped: counted as the IPv4 address it names, one counter rather than two (no client
    // reaches Cloudflare with such an address).
    expect(parseIpAddress("64:ff9b::192.0.2.1")?.version).toBe(6);
    expect(clientAddressKey("::192.0.2.1")).toBe("192.0.2.1");
  });

  it("refuses what is not one address", () => {
    for (const bad of [
      "",
      "unknown",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "2001:db8::1::2",
      "2001:db8:0:0:0:0:0:0:1",
      "2001:db8:0:0:0:0:1",
      "12345::1",
      "2001:db8::g",
      ":::",
      "fe80::1%eth0",
      "[2001:db8::1]",
      "1.2.3.4::",
      "::ffff:1.2.3",
      "1.2.3.4, 5.6.7.8",
    ])
      expect(parseIpAddress(bad), bad).toBeUndefined();
  });
});

describe("client address: the counter key", () => {
  it("is the IPv4 address for IPv4, mapped or not", () => {
    expect(clientAddressKey("192.0.2.1")).toBe("192.0.2.1");
    expect(clientAddressKey("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(clientAddressKey("::FFFF:C000:0201")).toBe("192.0.2.1");
    expect(clientAddressKey("192.0.2.2")).not.toBe(clientAddressKey("192.0.2.1"));
  });

  it("is the /64 for IPv6: every address of one /64 shares it, another /64 does not", () => {
    const key = clientAddressKey("2001:db8:1:2::1");
    expect(key).toBe("2001:db8:1:2::/64");
    for (const member of [
      "2001:DB8:1:2:ffff:ffff:ffff:ffff",
      "2001:0db8:0001:0002:0000:0000:0000:0002",
      "2001:db8:1:2:abcd::",
    ])
      expect(clientAddressKey(member)).toBe(key);
    expect(clientAddressKey("2001:db8:1:3::1")).not.toBe(key);
    expect(clientAddressKey("2001:db8::1")).toBe("2001:db8::/64");
  });

  it("is UNKNOWN_CLIENT without a usable address", () => {
    expect(clientAddressKey(undefined)).toBe(UNKNOWN_CLIENT);
    expect(clientAddressKey(null)).toBe(UNKNOWN_CLIENT);
    expect(clientAddressKey("not an address")).toBe(UNKNOWN_CLIENT);
  });

  it("reads CF-Connecting-IP from a request's headers", () => {
    expect(clientAddressKeyOf(new Headers({ "CF-Connecting-IP": "2001:DB8:a:b::5" }))).toBe(
      "2001:db8:a:b::/64",
    );
    expect(clientAddressKeyOf(new Headers())).toBe(UNKNOWN_CLIENT);
  });
});
