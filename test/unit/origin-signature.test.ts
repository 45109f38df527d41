import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalString, signatureHeader } from "../../src/gateway/origin-signature";

// The key is imported once per secret and reused across requests; an origin verifies the signature with any
// HMAC-SHA256 (README). Node's OpenSSL is the independent reference here.

const identity = {
  method: "POST",
  pathWithQuery: "/api/v1/items?page=2&q=caf%C3%A9",
  requestId: "0b4a6f55-6d8c-4d51-9f4e-2f7c0e1c2a90",
  accountId: "acct_01",
  keyId: "key_01",
  tier: "pro",
};

const reference = (secret: string, timestamp: number, signed = identity) =>
  `t=${timestamp},v1=${createHmac("sha256", secret).update(canonicalString(timestamp, signed)).digest("hex")}`;

describe("origin signature", () => {
  it("matches HMAC-SHA256 for short, block-sized, long (hashed first) and non-ASCII secrets", async () => {
    for (const secret of ["s", "x".repeat(64), "y".repeat(65), "z".repeat(200), "clé-secrète-🔑"]) {
      expect(await signatureHeader(secret, 1_767_225_600, identity)).toBe(reference(secret, 1_767_225_600));
    }
  });

  it("signs each request on its own: a second request with the same key is not chained to the first", async () => {
    const secret = "reused-secret";
    const first = await signatureHeader(secret, 1_767_225_600, identity);
    const other = { ...identity, requestId: "another-request", method: "GET" };
    expect(await signatureHeader(secret, 1_767_225_601, other)).toBe(reference(secret, 1_767_225_601, other));
    expect(await signatureHeader(secret, 1_767_225_600, identity)).toBe(first);
  });

  it("signs messages longer than one SHA-256 block", async () => {
    const long = { ...identity, pathWithQuery: `/v1/search?q=${"a".repeat(300)}` };
    expect(await signatureHeader("k", 42, long)).toBe(reference("k", 42, long));
  });
});
