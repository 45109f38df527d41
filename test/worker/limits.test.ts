import { afterEach, describe, expect, it, vi } from "vitest";
import { LEASE_MS } from "../../src/gateway/lease-life";
import { monthWindow } from "../../src/gateway/month";
import { plans } from "../../src/plans/plans";
import {
  accountWithKey,
  admin,
  gateway,
  gatewayWith,
  holdClockInNextWindow,
  problemOf,
  redis,
  settleBackground,
  withKey,
} from "./support";

const free = plans.free;

function remaining(header: string | null, policy: string): number {
  const match = new RegExp(`"${policy}";r=(\\d+);t=(\\d+)`).exec(header ?? "");
  if (!match) throw new Error(`no ${policy} item in RateLimit: ${header}`);
  return Number(match[1]);
}

describe("rate limits: headers", () => {
  it("carries RateLimit-Policy and a RateLimit that counts down", async () => {
    const { key } = await accountWithKey("free");
    holdClockInNextWindow();
    const first = await gateway("/v1/hello", withKey(key));
    expect(first.headers.get("RateLimit-Policy")).toBe(
      `"minute";q=${free.rateLimit.requests};w=60, "month";q=${free.monthlyQuota};w=2592000`,
    );
    const second = await gateway("/v1/hello", withKey(key));
    expect(remaining(first.headers.get("RateLimit"), "minute")).toBe(free.rateLimit.requests - 1);
    expect(remaining(second.headers.get("RateLimit"), "minute")).toBe(free.rateLimit.requests - 2);
    expect(remaining(second.headers.get("RateLimit"), "month")).toBe(free.monthlyQuota - 2);
  });

  it("describes the burst bucket of tiers that have one", async () => {
    const { key } = await accountWithKey("basic");
    const response = await gateway("/v1/hello", withKey(key));
    expect(response.headers.get("RateLimit-Policy")).toContain(`"burst";q=${plans.basic.burst?.capacity}`);
    expect(response.headers.get("RateLimit")).toMatch(/"burst";r=\d+;t=\d+/);
  });
});

describe("rate limits: enforcement", () => {
  it("answers 429 with an honest Retry-After once the window is used up", async () => {
    const { key } = await accountWithKey("free");
    // Held: a run that straddled a minute would be owed part of the next window too.
    holdClockInNextWindow();
    for (let i = 0; i < free.rateLimit.requests; i++) {
      expect((await gateway("/v1/hello", withKey(key))).status).toBe(200);
    }
    const refused = await gateway("/v1/hello", withKey(key));
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(free.rateLimit.windowSeconds);
    expect(refused.headers.get("RateLimit-Policy")).toContain('"minute"');
    expect(refused.headers.get("RateLimit")).toMatch(/"minute";r=0;t=\d+/);
    expect(await problemOf(refused)).toMatchObject({ type: "/problems/rate-limited", status: 429 });
    // Refused again from isolate memory, with the same kind of answer.
    const again = await gateway("/v1/hello", withKey(key));
    expect(again.status).toBe(429);
    expect(Number(again.headers.get("Retry-After"))).toBeLessThanOrEqual(retryAfter);
  });

  it("never admits more than the limit to concurrent requests", async () => {
    const { key } = await accountWithKey("free");
    holdClockInNextWindow();
    const responses = await Promise.all(
      Array.from({ length: free.rateLimit.requests + 40 }, () => gateway("/v1/hello", withKey(key))),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(free.rateLimit.requests);
    expect(statuses.filter((status) => status === 429)).toHaveLength(40);
  });

  it("answers 429 quota_exceeded with Retry-After until the month ends", async () => {
    const { key, account } = await accountWithKey("free");
    const month = monthWindow(Date.now());
    await redis.set(`gw:quota:${account.id}:${month.id}`, free.monthlyQuota - 1);
    const last = await gateway("/v1/hello", withKey(key));
    expect(last.status).toBe(200);
    expect(remaining(last.headers.get("RateLimit"), "month")).toBe(0);
    const refused = await gateway("/v1/hello", withKey(key));
    expect(refused.status).toBe(429);
    expect(await problemOf(refused)).toMatchObject({ type: "/problems/quota-exceeded" });
    const expected = Math.ceil((month.endMs - Date.now()) / 1000);
    expect(Math.abs(Number(refused.headers.get("Retry-After")) - expected)).toBeLessThanOrEqual(2);
  });

  it("shares the monthly quota between an account's keys", async () => {
    const { key, account } = await accountWithKey("free");
    const second = await admin(`/accounts/${account.id}/keys`, { method: "POST", json: {} });
    const { key: otherKey } = (await second.json()) as { key: string };
    const first = await gateway("/v1/hello", withKey(key));
    const next = await gateway("/v1/hello", withKey(otherKey));
    expect(remaining(next.headers.get("RateLimit"), "month")).toBe(
      remaining(first.headers.get("RateLimit"), "month") - 1,
    );
    // ...while each key has its own rate-limit window.
    expect(remaining(next.headers.get("RateLimit"), "minute")).toBe(free.rateLimit.requests - 1);
  });

  it("applies a tier change from the next response on", async () => {
    const { key, account } = await accountWithKey("free");
    expect((await gateway("/v1/hello", withKey(key))).headers.get("RateLimit-Policy")).toContain(
      `q=${free.rateLimit.requests};`,
    );
    expect((await admin(`/accounts/${account.id}`, { method: "PATCH", json: { tier: "pro" } })).status).toBe(
      200,
    );
    const after = await gateway("/v1/hello", withKey(key));
    expect(after.headers.get("RateLimit-Policy")).toContain(
      `"minute";q=${plans.pro.rateLimit.requests};w=60`,
    );
  });
});

describe("rate limits: Redis failing", () => {
  it("admits a cached key when RATE_LIMIT_FAIL_MODE=open, and refuses with 503 when closed", async () => {
    const { key } = await accountWithKey("free");
    expect((await gateway("/v1/hello", withKey(key))).status).toBe(200);
    const down = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" };
    const open = await gatewayWith({ ...down, RATE_LIMIT_FAIL_MODE: "open" }, "/v1/hello", withKey(key));
    expect(open.status).toBe(200);
    expect(open.headers.get("RateLimit-Policy")).toContain('"minute"');
    const closed = await gatewayWith({ ...down, RATE_LIMIT_FAIL_MODE: "closed" }, "/v1/hello", withKey(key));
    expect(closed.status).toBe(503);
    expect(closed.headers.get("Retry-After")).toBe("1");
  });

  it("applies the key's rate limit in the isolate when fail-open admits without Redis, and charges the quota later", async () => {
    const { key, account } = await accountWithKey("free");
    // The clock is held: the warm-up 300 ms before a minute starts, the outage from 1 s into it, so the
    // whole run falls in one window of the local count, and the key's next lease (sized from the warm-up's
    // rate) always holds a token beyond its request, whose return the end of the test waits for.
    const minute = Math.ceil(Date.now() / 60_000) * 60_000;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(minute - 300);
    const warmedUpAt = Date.now();
    expect((await gateway("/v1/hello", withKey(key))).status).toBe(200);
    vi.setSystemTime(minute + 1_000);
    const down = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9", RATE_LIMIT_FAIL_MODE: "open" };
    const statuses: number[] = [];
    // As a client would: the next request does not wait for the previous one's after-response work (here
    // usage flushes that fail while Redis is down); it is collected before Redis comes back.
    for (let i = 0; i < free.rateLimit.requests + 5; i++) {
      statuses.push((await gatewayWith(down, "/v1/hello", withKey(key), { background: "keep" })).status);
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(free.rateLimit.requests);
    expect(statuses.slice(free.rateLimit.requests)).toEqual(Array(5).fill(429));
    const refused = await gatewayWith(down, "/v1/hello", withKey(key), { background: "keep" });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBe(59);
    expect(remaining(refused.headers.get("RateLimit"), "minute")).toBe(0);
    expect((await problemOf(refused)).type).toBe("/problems/rate-limited");

    await settleBackground();
    // Redis back: what the outage admitted (flushed, or spooled to Postgres while Redis was down) is
    // charged to the month's quota once, by the next request's round trip and the spool replay it starts.
    const warmUpMonth = monthWindow(warmedUpAt).id;
    const month = monthWindow(Date.now()).id;
    expect((await gatewayWith({}, "/v1/hello", withKey(key), { background: "keep" })).status).toBe(200);
    // That request's lease holds a token beyond its own (its size follows the warm-up's rate, one request
    // in 1.3 s). The quota holds it until the lease lapses and the flush gives it back; the held clock is
    // moved past the lease's life while that flush still runs.
    vi.setSystemTime(Date.now() + LEASE_MS);
    const want = free.rateLimit.requests + 1 + (warmUpMonth === month ? 1 : 0);
    let counted = 0;
    for (let tries = 0; tries < 50 && counted !== want; tries++) {
      await settleBackground();
      counted = Number(await redis.get(`gw:quota:${account.id}:${month}`));
      if (counted !== want) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(counted).toBe(want);
  });
});

afterEach(() => {
  vi.useRealTimers();
});
