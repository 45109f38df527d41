import { describe, expect, it } from "vitest";
import { BlockTable } from "../../src/gateway/blocks";
import { FallbackLimiter } from "../../src/gateway/fallback-limiter";
import type { LeaseReply } from "../../src/gateway/lease-call";
import { type Lease, LeaseTable } from "../../src/gateway/leases";
import type { LimitOutcome } from "../../src/gateway/limit-outcome";
import { UsageLedger } from "../../src/gateway/usage";
import type { AccountRecord, KeyRecord } from "../../src/keys/records";
import { TtlCache } from "../../src/lib/ttl-cache";
import { plans } from "../../src/plans/plans";

// The isolate's own memory on the limit path, driven by explicit clocks (every method takes `now`).

const T0 = 1_700_000_000_000;
const rateRefusal: LimitOutcome = {
  decision: "rate_limited",
  retryAfter: 10,
  window: { limit: 60, remaining: 0, resetSeconds: 30 },
  quota: { limit: 10_000, remaining: 500, resetSeconds: 86_400 },
};
const quotaRefusal: LimitOutcome = {
  decision: "quota",
  retryAfter: 3600,
  window: { limit: 60, remaining: 59, resetSeconds: 30 },
  quota: { limit: 10_000, remaining: 0, resetSeconds: 3600 },
};

describe("TtlCache", () => {
  it("forgets an entry at its expiry, not a millisecond before", () => {
    const cache = new TtlCache<string, number>(10, 1000);
    cache.set("a", 1, T0);
    expect(cache.get("a", T0 + 999)).toBe(1);
    expect(cache.get("a", T0 + 1000)).toBeUndefined();
    cache.set("b", 2, T0, 50);
    expect(cache.get("b", T0 + 49)).toBe(2);
    expect(cache.get("b", T0 + 50)).toBeUndefined();
  });

  it("evicts the least recently used entry beyond its bound", () => {
    const cache = new TtlCache<string, number>(2, 60_000);
    cache.set("a", 1, T0);
    cache.set("b", 2, T0);
    cache.get("a", T0 + 1000); // a is now the most recently used
    cache.set("c", 3, T0 + 1000);
    expect(cache.get("b", T0 + 1000)).toBeUndefined();
    expect(cache.get("a", T0 + 1000)).toBe(1);
    expect(cache.get("c", T0 + 1000)).toBe(3);
    expect(cache.size).toBe(2);
    cache.delete("a");
    expect(cache.get("a", T0 + 1000)).toBeUndefined();
  });

  it("refreshes an entry's recency at most once a second, and keeps a key in use however many others come", () => {
    const cache = new TtlCache<string, number>(3, 60_000);
    cache.set("hot", 0, T0);
    cache.set("b", 1, T0);
    cache.get("hot", T0 + 999); // read again within its second: not moved
    cache.set("c", 2, T0 + 999);
    cache.set("d", 3, T0 + 999);
    expect(cache.get("hot", T0 + 999)).toBeUndefined();

    // Read every 10 ms while a new key arrives every 100 ms, in a cache of 20: moved up once a second, it
    // is never the oldest, since fewer than 20 keys arrive in a second.
    const roomy = new TtlCache<string, number>(20, 60_000);
    roomy.set("hot", 0, T0 + 1000);
    for (let t = T0 + 1000, n = 0; t < T0 + 10_000; t += 10) {
      expect(roomy.get("hot", t), `at +${t - T0} ms`).toBe(0);
      if ((t - T0) % 100 === 0) roomy.set(`k${n++}`, n, t);
    }
    expect(roomy.size).toBe(20);
  });
});

describe("BlockTable: refusals remembered in the isolate", () => {
  it("refuses from memory with Retry-After counting down, and lets one request re-check each second", () => {
    const blocks = new BlockTable();
    blocks.remember("key_a", "acct_a", rateRefusal, T0);
    expect(blocks.active("key_a", "acct_a", T0 + 500)).toMatchObject({
      decision: "rate_limited",
      retryAfter: 10,
    });
    expect(blocks.active("key_a", "acct_a", T0 + 4200)).toBeUndefined(); // the re-check: this one asks Redis
    const after = blocks.active("key_a", "acct_a", T0 + 4300);
    expect(after).toMatchObject({ retryAfter: 6, window: { resetSeconds: 6 } });
    expect(blocks.active("key_b", "acct_b", T0 + 500)).toBeUndefined();
  });

  it("holds a quota refusal against every key of the account, and forgets both on a grant", () => {
    const blocks = new BlockTable();
    blocks.remember("key_a", "acct_a", quotaRefusal, T0);
    const other = blocks.active("key_other", "acct_a", T0 + 100);
    expect(other).toMatchObject({ decision: "quota", retryAfter: 3600, quota: { resetSeconds: 3600 } });
    blocks.forget("key_other", "acct_a");
    expect(blocks.active("key_a", "acct_a", T0 + 200)).toBeUndefined();
  });

  it("ignores admissions and refusals without a Retry-After, and keeps nothing past a minute", () => {
    const blocks = new BlockTable();
    blocks.remember("key_a", "acct_a", { ...rateRefusal, decision: "ok" }, T0);
    blocks.remember("key_b", "acct_b", { ...rateRefusal, retryAfter: undefined }, T0);
    expect(blocks.active("key_a", "acct_a", T0 + 1)).toBeUndefined();
    expect(blocks.active("key_b", "acct_b", T0 + 1)).toBeUndefined();
    blocks.remember("key_c", "acct_c", quotaRefusal, T0);
    expect(blocks.active("key_c", "acct_c", T0 + 60_000)).toBeUndefined();
  });
});

describe("FallbackLimiter: the key's rate limit counted in the isolate alone", () => {
  const free = plans.free; // 60 per 60 s

  it("admits up to the limit in a fixed window, then refuses until the window ends", () => {
    const limiter = new FallbackLimiter();
    const windowStart = Math.ceil(T0 / 60_000) * 60_000;
    for (let i = 0; i < free.rateLimit.requests; i++) {
      expect(limiter.admit("key_a", free, windowStart + i).admitted).toBe(true);
    }
    expect(limiter.admit("key_a", free, windowStart + 15_000)).toEqual({
      admitted: false,
      remaining: 0,
      resetSeconds: 45,
    });
    expect(limiter.admit("key_b", free, windowStart + 15_000)).toMatchObject({
      admitted: true,
      remaining: 59,
    });
    expect(limiter.admit("key_a", free, windowStart + 60_000)).toEqual({
      admitted: true,
      remaining: 59,
      resetSeconds: 60,
    });
  });
});

describe("LeaseTable", () => {
  const lease = (recordKey: string, granted: number, grantedAt: number): Lease => ({
    recordKey,
    key: { kind: "key", id: "key_1", accountId: "acct_1", status: "active" } as unknown as KeyRecord,
    account: { id: "acct_1", tier: "pro" } as unknown as AccountRecord,
    granted,
    handedOut: 0,
    grantedAt,
    expiresAt: grantedAt + 1000,
    reply: {} as LeaseReply,
  });
  const returned = (ledger: UsageLedger, now: number) =>
    ledger
      .takeBatches(now)
      .flatMap((batch) => (JSON.parse(batch.payload) as { r: Array<[string, number]> }).r);

  it("gives an expired lease's unused tokens back at once, so they ride the key's next round trip", () => {
    const ledger = new UsageLedger();
    const leases = new LeaseTable(ledger);
    leases.install("hash", lease("gw:lease:a", 5, T0), T0);
    expect(leases.take("hash", T0 + 10)).toBeDefined();
    expect(leases.take("hash", T0 + 20)).toBeDefined();
    // Still live: nothing goes back.
    leases.lapseExpired("hash", T0 + 999);
    expect(ledger.returnsTokens).toBe(false);
    // Expired: no token is handed out any more, and the 3 unused go back with the 2 used named.
    expect(leases.take("hash", T0 + 1000)).toBeUndefined();
    leases.lapseExpired("hash", T0 + 1000);
    expect(ledger.returnsTokens).toBe(true);
    expect(returned(ledger, T0 + 1000)).toEqual([["gw:lease:a", 2]]);
    // The next grant replaces it without giving the same tokens back twice.
    leases.install("hash", lease("gw:lease:b", 4, T0 + 1010), T0 + 1010);
    expect(ledger.returnsTokens).toBe(false);
  });
});
