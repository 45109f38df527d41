import { describe, expect, it } from "vitest";
import { formatCounterField, parseCounterField } from "../../src/usage/usage-counters";

describe("usage counter fields", () => {
  it("formats 4 parts and parses both 4 and 3 parts; anything else is skipped", () => {
    const field = formatCounterField({ keyId: "key_a", accountId: "acct_b", outcome: "ok", tier: "pro" });
    expect(field).toBe("key_a|acct_b|ok|pro");
    expect(parseCounterField(field, "12")).toEqual({
      keyId: "key_a",
      accountId: "acct_b",
      outcome: "ok",
      tier: "pro",
      count: 12,
    });
    expect(
      parseCounterField(formatCounterField({ keyId: "k", accountId: "a", outcome: "auth", tier: "" }), 1),
    ).toMatchObject({ tier: "", outcome: "auth" });
    expect(parseCounterField("key_a|acct_b|ok", 3)).toMatchObject({ tier: "", count: 3 });
    expect(parseCounterField("key_a|acct_b", 3)).toBeUndefined();
    expect(parseCounterField("key_a|acct_b|ok|pro|x", 3)).toBeUndefined();
    expect(parseCounterField("key_a|acct_b|ok|pro", "not a number")).toBeUndefined();
    expect(() => formatCounterField({ keyId: "k|x", accountId: "a", outcome: "ok", tier: "pro" })).toThrow();
  });
});
