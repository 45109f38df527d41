import { createHash, createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/lib/hex";
import { HmacSha256, sha256 } from "../../src/lib/hmac-sha256";

const hex = (text: string) => Uint8Array.from(Buffer.from(text, "hex"));
const ascii = (text: string) => new TextEncoder().encode(text);
const filled = (length: number, byte: number) => new Uint8Array(length).fill(byte);

describe("HMAC-SHA256 of the origin signature", () => {
  // RFC 4231 section 4: test cases 1-4, 6 and 7 (5 truncates the output, which the gateway never does).
  const rfc4231: Array<{ case: number; key: Uint8Array; data: Uint8Array; mac: string }> = [
    {
      case: 1,
      key: filled(20, 0x0b),
      data: ascii("Hi There"),
      mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    },
    {
      case: 2,
      key: ascii("Jefe"),
      data: ascii("what do ya want for nothing?"),
      mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    },
    {
      case: 3,
      key: filled(20, 0xaa),
      data: filled(50, 0xdd),
      mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    },
    {
      case: 4,
      key: hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
      data: filled(50, 0xcd),
      mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    },
    {
      case: 6,
      key: filled(131, 0xaa),
      data: ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
      mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    },
    {
      case: 7,
      key: filled(131, 0xaa),
      data: ascii(
        "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
      ),
      mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    },
  ];

  for (const vector of rfc4231) {
    it(`gives RFC 4231 test case ${vector.case}'s MAC`, () => {
      expect(toHex(new HmacSha256(vector.key).sign(vector.data))).toBe(vector.mac);
    });
  }

  it("agrees with node:crypto for every message length across the padding boundaries, one key reused", () => {
    // One key signs them all in turn, as the gateway's does: its kept state must not drift between calls.
    const key = randomBytes(32);
    const mac = new HmacSha256(key);
    for (let length = 0; length <= 200; length++) {
      const message = randomBytes(length);
      const expected = createHmac("sha256", key).update(message).digest("hex");
      expect(toHex(mac.sign(message)), `length ${length}`).toBe(expected);
    }
  });

  it("signs text as its UTF-8 bytes, as origins verifying with their HMAC library do", () => {
    const key = randomBytes(24);
    const text = "t=1764000000\nGET\n/v1/caf\u00e9?q=\u{1f600}\nreq-1\nacct_1\nkey_1\npro";
    expect(toHex(new HmacSha256(key).signText(text))).toBe(
      createHmac("sha256", key).update(text, "utf8").digest("hex"),
    );
  });

  it("agrees with node:crypto on keys of every length around the block size", () => {
    for (const length of [0, 1, 31, 32, 63, 64, 65, 128, 200]) {
      const key = randomBytes(length);
      const message = randomBytes(90);
      expect(toHex(new HmacSha256(key).sign(message)), `key of ${length} bytes`).toBe(
        createHmac("sha256", key).update(message).digest("hex"),
      );
    }
  });

  it("hashes with SHA-256 (FIPS 180-4 known answers and node:crypto)", () => {
    expect(toHex(sha256(ascii("abc")))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(toHex(sha256(new Uint8Array()))).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    const long = randomBytes(1000);
    expect(toHex(sha256(long))).toBe(createHash("sha256").update(long).digest("hex"));
  });
});
