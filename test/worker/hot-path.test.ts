import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LEASE_MS } from "../../src/gateway/lease-life";
import { monthWindow } from "../../src/gateway/month";
import { REFUSAL_FLUSH_DELAY_MS } from "../../src/gateway/usage-flush";
import { utcDay } from "../../src/lib/time";
import { plans } from "../../src/plans/plans";
import { redisKeys } from "../../src/store/layout";
import { formatCounterField } from "../../src/usage/usage-counters";
import {
  accountWithKey,
  createKey,
  gatewayWith,
  holdClockInNextWindow,
  redis,
  settleBackground,
  withKey,
} from "./support";

/**
 * The hot path's budget, counted at the Upstash bridge (not guessed): a busy key costs one Redis round trip
 * per lease of tokens, usage included; a quiet key no more than one per request plus its usage flush; none
 * for a refusal the isolate already knows. Each test talks to Redis through its own tagged bridge URL, so
 * parallel test files do not disturb counts.
 */
const bridge = env.UPSTASH_REDIS_REST_URL as string;
const auth = { Authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}` };

async function resetCounts(tag: string): Promise<void> {
  await fetch(`${bridge}/__bridge/stats?tag=${tag}`, { method: "POST", headers: auth });
}
async function counts(tag: string): Promise<{ httpRequests: number; commands: number }> {
  const response = await fetch(`${bridge}/__bridge/stats?tag=${tag}`, { headers: auth });
  return (await response.json()) as { httpRequests: number; commands: number };
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tagged = (tag: string) => ({ UPSTASH_REDIS_REST_URL: `${bridge}/__tag/${tag}` });
const okField = (keyId: string, accountId: string, tier: string) =>
  formatCounterField({ keyId, accountId, outcome: "ok", tier });

afterEach(() => {
  vi.useRealTimers();
});

describe("hot path budget", () => {
  it("serves a busy key from leases: a few round trips for many requests, usage and quota exact", async () => {
    const tag = `busy${Date.now()}`;
    const { key, keyId, account } = await accountWithKey("pro");
    expect((await gatewayWith(tagged(tag), "/v1/hello", withKey(key))).status).toBe(200);
    await resetCounts(tag);

    const requests = 200;
    for (let i = 0; i < requests; i++) {
      const response = await gatewayWith(tagged(tag), "/v1/hello", withKey(key), { background: "keep" });
      expect(response.status).toBe(200);
    }
    const { httpRequests, commands } = await counts(tag);
    // Leases grow with the rate seen: far fewer round trips than requests (one each before leases).
    expect(httpRequests).toBeLessThanOrEqual(requests / 10);
    expect(commands).toBeLessThanOrEqual(requests / 5);
    await settleBackground();
    // Every request counted once, and the month's quota holds exactly what was used: tokens a lease did not
    // hand out went back when it lapsed.
    const counted = await redis.hget<number>(
      `gw:usage:${utcDay(Date.now())}`,
      okField(keyId, account.id, "pro"),
    );
    expect(Number(counted)).toBe(requests + 1);
    const quota = await redis.get(redisKeys.quota(account.id, monthWindow(Date.now()).id));
    expect(Number(quota)).toBe(requests + 1);
  });

  it("gives a lease's unused tokens back when traffic stops just as the flush's watch ends", async () => {
    const { key, keyId, account } = await accountWithKey("pro");
    // The first request arms the isolate's one flush, which watches for about 6 s of traffic
    // (usage-flush.ts); the traffic stops a moment before that, with a lease just renewed and still
    // holding tokens. No request follows to arm another flush: the ending one must still give them back.
    const started = Date.now();
    let requests = 0;
    while (Date.now() - started < 5_800) {
      const response = await gatewayWith({}, "/v1/hello", withKey(key), { background: "keep" });
      expect(response.status).toBe(200);
      requests += 1;
      await sleep(40);
    }
    await settleBackground();
    const counted = await redis.hget<number>(
      `gw:usage:${utcDay(Date.now())}`,
      okField(keyId, account.id, "pro"),
    );
    expect(Number(counted)).toBe(requests);
    const quota = await redis.get(redisKeys.quota(account.id, monthWindow(Date.now()).id));
    expect(Number(quota)).toBe(requests);
  });

  it("costs a quiet key one round trip per request and one flush for its usage", async () => {
    const tag = `quiet${Date.now()}`;
    const { key, keyId, account } = await accountWithKey("pro");
    expect((await gatewayWith(tagged(tag), "/v1/hello", withKey(key))).status).toBe(200);
    await sleep(LEASE_MS + 100);
    await resetCounts(tag);
    const requests = 3;
    for (let i = 0; i < requests; i++) {
      expect((await gatewayWith(tagged(tag), "/v1/hello", withKey(key))).status).toBe(200);
      await sleep(LEASE_MS + 100);
    }
    const { httpRequests } = await counts(tag);
    expect(httpRequests).toBeGreaterThanOrEqual(requests);
    expect(httpRequests).toBeLessThanOrEqual(2 * requests);
    const counted = await redis.hget<number>(
      `gw:usage:${utcDay(Date.now())}`,
      okField(keyId, account.id, "pro"),
    );
    expect(Number(counted)).toBe(requests + 1);
  });

  it("makes no round trip for a refusal the isolate already knows", async () => {
    const tag = `blocked${Date.now()}`;
    const { key } = await accountWithKey("free");
    // Held: the refusal's re-check (a second later) never comes due during the test.
    const start = holdClockInNextWindow();
    const responses = [];
    for (let i = 0; i <= plans.free.rateLimit.requests; i++) {
      responses.push(
        (await gatewayWith(tagged(tag), "/v1/hello", withKey(key), { background: "keep" })).status,
      );
    }
    expect(responses.at(-1)).toBe(429);
    await resetCounts(tag);
    for (let i = 0; i < 10; i++) {
      const response = await gatewayWith(tagged(tag), "/v1/hello", withKey(key), { background: "keep" });
      expect(response.status).toBe(429);
    }
    expect((await counts(tag)).httpRequests).toBe(0);
    vi.setSystemTime(start + 2 * LEASE_MS);
    await settleBackground();
  });

  it("coalesces a burst on a key without a lease into a few round trips, and admits exactly the limit", async () => {
    const tag = `burst${Date.now()}`;
    const { key } = await accountWithKey("free");
    // Held: a burst that straddled a minute would be owed part of the next window's limit too.
    holdClockInNextWindow();
    await resetCounts(tag);
    const limit = plans.free.rateLimit.requests;
    const statuses = (
      await Promise.all(
        Array.from({ length: 3 * limit }, () =>
          gatewayWith(tagged(tag), "/v1/hello", withKey(key), { background: "keep" }),
        ),
      )
    ).map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(limit);
    expect(statuses.filter((status) => status === 429)).toHaveLength(2 * limit);
    // Single flight: the first request's round trip, then one for all who queued meanwhile (and the key
    // lookup's refill when its record is new); never one per request.
    expect((await counts(tag)).httpRequests).toBeLessThanOrEqual(6);
    await settleBackground();
  });

  it("gives an expired lease's spare tokens back in the round trip that follows, ahead of its grant", async () => {
    const { key, keyId, account } = await accountWithKey("free");
    const { requests: limit, windowSeconds } = plans.free.rateLimit;
    const burst = async (size: number) =>
      (
        await Promise.all(
          Array.from({ length: size }, () =>
            gatewayWith({}, "/v1/hello", withKey(key), { background: "keep" }),
          ),
        )
      ).map((response) => response.status);
    // The clock is held, so no flush can see the lease lapse between the two bursts: only the second
    // burst's own round trip can give its spare tokens back.
    const start = holdClockInNextWindow();
    const windowCounter = `${redisKeys.rateLimitPrefix}:${keyId}:${Math.floor(start / (windowSeconds * 1000))}`;
    const month = monthWindow(start).id;
    expect(await burst(10)).toEqual(Array(10).fill(200));
    // The burst's second round trip asked for more than its requests: the lease holds spare tokens,
    // reserved in the window and the quota.
    const spare = Number(await redis.get(redisKeys.quota(account.id, month))) - 10;
    expect(spare).toBeGreaterThan(0);
    // Another isolate takes the rest of the window: what is left is this isolate's spare tokens.
    await redis.set(windowCounter, limit, { ex: 3 * windowSeconds });

    // Expired, same window: had the spare tokens gone back only after the next grant, Redis would have
    // nothing to grant, and the isolate would refuse (and remember refusing) the whole burst.
    vi.setSystemTime(start + LEASE_MS);
    const second = await burst(spare + 5);
    expect(second.filter((status) => status === 200)).toHaveLength(spare);
    expect(second.filter((status) => status === 429)).toHaveLength(5);

    vi.setSystemTime(start + 2 * LEASE_MS);
    await settleBackground();
    // Each admitted request counted once; the quota holds nothing reserved and not used.
    const counted = await redis.hget<number>(`gw:usage:${utcDay(start)}`, okField(keyId, account.id, "free"));
    expect(Number(counted)).toBe(10 + spare);
    expect(Number(await redis.get(redisKeys.quota(account.id, month)))).toBe(10 + spare);
  });

  it("lets one request re-check a block once a second while the rest stay refused from memory", async () => {
    const tag = `recheck${Date.now()}`;
    // A generous deadline: a retry after a missed one (a loaded machine) would be a round trip of its own.
    const bridged = { ...tagged(tag), RATE_LIMIT_TIMEOUT_MS: "5000" };
    const { key, keyId, account } = await accountWithKey("free");
    // Held: the refusal Redis gives first (until about a second into the next window) outlasts the burst,
    // which follows the first request's flush, whatever the minute.
    const start = holdClockInNextWindow();
    // The key's sliding-window counters held at the limit (this window, the one before and the next), so
    // Redis refuses it throughout; the first request learns that from Redis, and the isolate remembers it.
    const { requests, windowSeconds } = plans.free.rateLimit;
    const window = Math.floor(start / (windowSeconds * 1000));
    for (const index of [window - 1, window, window + 1]) {
      await redis.set(`${redisKeys.rateLimitPrefix}:${keyId}:${index}`, requests, { ex: 3 * windowSeconds });
    }
    expect((await gatewayWith(bridged, "/v1/hello", withKey(key))).status).toBe(429);
    vi.setSystemTime(start + 1_100);
    await resetCounts(tag);

    // The clock stands still through the burst: exactly one of its requests re-checks.
    const burstStarted = performance.now();
    const burst = await Promise.all(
      Array.from({ length: 10 }, () =>
        gatewayWith(bridged, "/v1/hello", withKey(key), { background: "keep" }),
      ),
    );
    expect(burst.map((response) => response.status)).toEqual(Array(10).fill(429));
    // The re-check's round trip; the usage flush follows it, at once on a machine slow enough to let it.
    const during = (await counts(tag)).httpRequests;
    expect(during).toBeGreaterThanOrEqual(1);
    expect(during).toBeLessThanOrEqual(2);
    // A burst that a loaded machine stretched past the flush's delay may leave counts for a second flush.
    const lateFlushes = Math.floor((performance.now() - burstStarted) / REFUSAL_FLUSH_DELAY_MS);
    await settleBackground();
    // The re-check and one flush: had the burst reached Redis, even coalesced, there would be more.
    const total = (await counts(tag)).httpRequests;
    expect(total).toBeGreaterThanOrEqual(2);
    expect(total).toBeLessThanOrEqual(2 + lateFlushes);
    // A refused request costs nothing: the month's quota was never charged.
    expect(Number(await redis.get(redisKeys.quota(account.id, monthWindow(start).id)))).toBe(0);
  });

  it("reads a key it has not seen and its account inside the lease round trip", async () => {
    const tag = `miss${Date.now()}`;
    const { key, account } = await accountWithKey("pro");
    expect((await gatewayWith(tagged(tag), "/v1/hello", withKey(key))).status).toBe(200);
    // A second key of the same account: published to Redis when created, never seen by this isolate.
    const second = await createKey(account.id);
    await resetCounts(tag);
    const response = await gatewayWith(tagged(tag), "/v1/hello", withKey(second.key), { background: "keep" });
    expect(response.status).toBe(200);
    expect((await counts(tag)).httpRequests).toBe(1);
    await settleBackground();
  });
});

describe("freshness under leases", () => {
  /** As another isolate's admin call would: the record changes in Redis, not through this isolate. */
  async function elsewhere(
    change: () => Promise<unknown>,
    key: string,
    until: (response: Response) => boolean,
  ) {
    await change();
    const changedAt = Date.now();
    for (;;) {
      const response = await gatewayWith({}, "/v1/hello", withKey(key), { background: "keep" });
      if (until(response)) return Date.now() - changedAt;
      if (Date.now() - changedAt > 5 * LEASE_MS) throw new Error("the change never reached the edge");
    }
  }

  it("refuses a key revoked elsewhere within a lease's second, while its lease is busy", async () => {
    const { key, keyId, account, hash } = await busyKey("pro");
    const revoked = { kind: "key", id: keyId, accountId: account.id, status: "revoked", expiresAt: null };
    const after = await elsewhere(
      () => redis.set(redisKeys.apiKey(hash), revoked),
      key,
      (r) => r.status === 403,
    );
    // One lease's life, and some slack for a loaded machine's clock between the change and the request.
    expect(after).toBeLessThanOrEqual(LEASE_MS + 500);
    expect((await gatewayWith({}, "/v1/hello", withKey(key))).status).toBe(403);
    await settleBackground();
  });

  it("applies a tier change made elsewhere within a lease's second, while its lease is busy", async () => {
    const { key, account } = await busyKey("free");
    const upgraded = await elsewhere(
      () => redis.set(redisKeys.account(account.id), { id: account.id, tier: "pro" }),
      key,
      (response) =>
        response.headers.get("RateLimit-Policy")?.includes(`q=${plans.pro.rateLimit.requests}`) ?? false,
    );
    expect(upgraded).toBeLessThanOrEqual(LEASE_MS + 500);
    await settleBackground();
  });

  /** A key whose lease holds tokens: a run of requests makes the isolate ask for more than it needs. */
  async function busyKey(tier: string) {
    const created = await accountWithKey(tier);
    for (let i = 0; i < 20; i++) {
      expect((await gatewayWith({}, "/v1/hello", withKey(created.key), { background: "keep" })).status).toBe(
        200,
      );
    }
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(created.key));
    const hash = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
    return { ...created, hash };
  }
});
