import { describe, expect, it } from "vitest";
import { keyRefusal, toAccountRecord, toKeyRecord } from "../../src/keys/records";

describe("edge records of keys and accounts", () => {
  it("carry what the edge needs, the expiry as unix ms", () => {
    const expiresAt = new Date("2026-04-01T00:00:00.000Z");
    expect(toKeyRecord({ id: "key_a", accountId: "acct_a", status: "active", expiresAt })).toEqual({
      kind: "key",
      id: "key_a",
      accountId: "acct_a",
      status: "active",
      expiresAt: expiresAt.getTime(),
    });
    expect(
      toKeyRecord({ id: "key_a", accountId: "acct_a", status: "active", expiresAt: null }).expiresAt,
    ).toBe(null);
    expect(toAccountRecord({ id: "acct_a", tier: "pro" })).toEqual({ id: "acct_a", tier: "pro" });
  });

  it("refuse unknown, revoked and expired keys, and a key whose expiry has come", () => {
    const key = { kind: "key" as const, id: "key_a", accountId: "acct_a", status: "active" as const };
    expect(keyRefusal({ kind: "unknown" }, 0)).toBe("unknown");
    expect(keyRefusal({ ...key, status: "revoked", expiresAt: null }, 0)).toBe("revoked");
    expect(keyRefusal({ ...key, status: "expired", expiresAt: null }, 0)).toBe("expired");
    expect(keyRefusal({ ...key, expiresAt: 1000 }, 999)).toBeUndefined();
    expect(keyRefusal({ ...key, expiresAt: 1000 }, 1000)).toBe("expired");
    expect(keyRefusal({ ...key, expiresAt: null }, Number.MAX_SAFE_INTEGER)).toBeUndefined();
  });
});
