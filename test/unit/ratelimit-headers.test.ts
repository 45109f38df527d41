import { describe, expect, it } from "vitest";
import { monthWindow } from "../../src/gateway/month";
import { rateLimitPolicy, rateLimitState, windowName } from "../../src/gateway/ratelimit-headers";
import { plans } from "../../src/plans/plans";

// draft-ietf-httpapi-ratelimit-headers: RateLimit-Policy (q, w) and RateLimit (r, t) as structured-field lists.

describe("RateLimit headers", () => {
  it("name the windows people know and fall back to seconds", () => {
    expect([1, 60, 3600, 86_400, 90].map(windowName)).toEqual(["second", "minute", "hour", "day", "90s"]);
  });

  it("announce the month's real length as its w: 31 days in March, 28 in February 2026", () => {
    const march = monthWindow(Date.UTC(2026, 2, 15));
    expect(rateLimitPolicy(plans.free, march)).toBe(
      `"minute";q=${plans.free.rateLimit.requests};w=60, "month";q=${plans.free.monthlyQuota};w=2678400`,
    );
    expect(rateLimitPolicy(plans.free, monthWindow(Date.UTC(2026, 1, 3)))).toContain("w=2419200");
  });

  it("describe the burst bucket of a tier that has one, its w the seconds a full refill takes", () => {
    const burst = plans.basic.burst;
    expect(burst).toBeDefined();
    const refill = Math.max(1, Math.ceil((burst?.capacity ?? 0) / (burst?.refillPerSecond ?? 1)));
    expect(rateLimitPolicy(plans.basic, monthWindow(Date.UTC(2026, 2, 15)))).toContain(
      `"burst";q=${burst?.capacity};w=${refill}`,
    );
  });

  it("report what is left of each policy in the policy's order", () => {
    expect(
      rateLimitState(plans.basic, {
        window: { limit: 600, remaining: 41, resetSeconds: 23 },
        burst: { limit: 100, remaining: 7, resetSeconds: 1 },
        quota: { limit: 250_000, remaining: 9958, resetSeconds: 86_400 },
      }),
    ).toBe('"minute";r=41;t=23, "burst";r=7;t=1, "month";r=9958;t=86400');
  });
});
