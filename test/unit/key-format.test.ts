import { describe, expect, it } from "vitest";
import {
  displayStart,
  generateApiKey,
  hashApiKey,
  ID_SHAPE,
  newId,
  parseApiKey,
} from "../../src/keys/key-format";

describe("authentication: key hashes", () => {
  it("stores a key as its SHA-256 in lowercase hex (known answers, from sha256sum)", async () => {
    expect(await hashApiKey("gw_test_x")).toBe(
      "537f42c0e85d6c7b86dcab544512cf25053928a1572201498cd494fdf83736dc",
    );
    expect(await hashApiKey("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});

describe("key format", () => {
  it("issues keys that name their environment and pass their own checksum", () => {
    for (const environment of ["live", "test"] as const) {
      const key = generateApiKey(environment);
      expect(key.startsWith(`gw_${environment}_`)).toBe(true);
      expect(parseApiKey(key)).toBe(environment);
    }
  });

  it("refuses a key with one character changed, a foreign prefix, or junk (the checksum is CRC-32)", () => {
    const key = generateApiKey("test");
    const last = key.at(-1) === "a" ? "b" : "a";
    expect(parseApiKey(`${key.slice(0, -1)}${last}`)).toBeUndefined();
    expect(parseApiKey(key.replace("gw_test_", "gw_prod_"))).toBeUndefined();
    expect(parseApiKey("")).toBeUndefined();
    expect(parseApiKey(`${key}x`)).toBeUndefined();
  });

  it("shows only the prefix and four random characters in lists", () => {
    expect(displayStart("gw_live_abcdefghij")).toBe("gw_live_abcd");
  });

  it("makes ids of the one shape URLs are checked against", () => {
    expect(newId("acct")).toMatch(ID_SHAPE);
    expect(newId("key")).toMatch(/^key_[0-9A-Za-z]{20}$/);
    expect(ID_SHAPE.test("acct_abc\u0000")).toBe(false);
    expect(ID_SHAPE.test("user_abc")).toBe(false);
  });
});
