import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { monthWindow } from "../../src/gateway/month";
import { utcDay } from "../../src/gateway/usage";
import { plans } from "../../src/plans/plans";
import { redisKeys } from "../../src/store/layout";
import { accountWithKey, createKey, gatewayWith, redis, settleBackground, withKey } from "./support";

/**
 * The hot path's budget, counted at the Upstash bridge (not guessed): one Redis round trip per admitted
 * request at steady state, usage included; none for a refusal the isolate already knows.
 * Each test talks to Redis through its own tagged bridge URL, so parallel test files do not disturb counts.
 */
const bridge = env.UPSTASH_REDIS_REST_URL as string;
const auth = { Authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}` };

async function resetCounts(tag: string): Promise<void> {
  await fetch(`${bridge}/__bridge/stats?tag=${tag}`, { method: "POST", headers: auth });
}
async function roundTrips(tag: string): Promise<number> {
  const response = await fetch(`${bridge}/__bridge/stats?tag=${tag}`, { headers: auth });
  return ((await response.json()) as { httpRequests: number }).httpRequests;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("hot path budget", () => {
  it("makes one Redis round trip per admitted request at steady state, usage included", async () => {
    const tag = `allowed${Date.now()}`;
    const tagged = { UPSTASH_REDIS_REST_URL: `${bridge}/__tag/${tag}` };
    const { key, keyId, account } = await accountWithKey("pro");
    // Warm up: the first request looks the key up (cold path) before its limit check.
    expect((await gatewayWith(tagged, "/v1/hello", withKey(key))).status).toBe(200);
    await sleep(400);
    await resetCounts(tag);

    const requests = 25;
    for (let i = 0; i < requests; i++) {
      const response = await gatewayWith(tagged, "/v1/hello", withKey(key), { background: "keep" });
      expect(response.status).toBe(200);
    }
    expect(await roundTrips(tag)).toBe(requests);
    // The last request's usage had no later request to ride with: it is flushed on its own, once.
    await settleBackground();
    expect(await roundTrips(tag)).toBe(requests + 1);
    const counted = await redis.hget<number>(`gw:usage:${utcDay(Date.now())}`, `${keyId}|${account.id}|ok`);
    expect(Number(counted)).toBe(requests + 1);
  });

  it("makes no round trip for a refusal the isolate already knows", async () => {
    const tag = `blocked${Date.now()}`;
    const tagged = { UPSTASH_REDIS_REST_URL: `${bridge}/__tag/${tag}` };
    const { key } = await accountWithKey("free");
    const responses = [];
    for (let i = 0; i <= plans.free.rateLimit.requests; i++) {
      responses.push((await gatewayWith(tagged, "/v1/hello", withKey(key), { background: "keep" })).status);
    }
    expect(responses.at(-1)).toBe(429);
    await resetCounts(tag);
    for (let i = 0; i < 10; i++) {
      const response = await gatewayWith(tagged, "/v1/hello", withKey(key), { background: "keep" });
      expect(response.status).toBe(429);
    }
    expect(await roundTrips(tag)).toBe(0);
    await settleBackground();
  });

  it("adds no flush of its own while requests keep coming; one once they stop", async () => {
    const tag = `steady${Date.now()}`;
    const tagged = { UPSTASH_REDIS_REST_URL: `${bridge}/__tag/${tag}` };
    const { key, keyId, account } = await accountWithKey("pro");
    expect((await gatewayWith(tagged, "/v1/hello", withKey(key))).status).toBe(200);
    await sleep(400);
    await resetCounts(tag);

    // Spaced so the run lasts several flush delays (200 ms): each request's usage rides the next batch,
    // and the armed flush keeps waiting instead of writing what the next batch carries anyway.
    const requests = 10;
    for (let i = 0; i < requests; i++) {
      const response = await gatewayWith(tagged, "/v1/hello", withKey(key), { background: "keep" });
      expect(response.status).toBe(200);
      await sleep(120);
    }
    expect(await roundTrips(tag)).toBe(requests);
    await settleBackground();
    expect(await roundTrips(tag)).toBe(requests + 1);
    const counted = await redis.hget<number>(`gw:usage:${utcDay(Date.now())}`, `${keyId}|${account.id}|ok`);
    expect(Number(counted)).toBe(requests + 1);
  });

  it("lets one request re-check a block once a second while the rest stay refused from memory", async () => {
    const tag = `recheck${Date.now()}`;
    const tagged = { UPSTASH_REDIS_REST_URL: `${bridge}/__tag/${tag}` };
    const { key, keyId, account } = await accountWithKey("free");
    // The key's sliding-window counters held at the limit (this window, the one before and the next), so
    // Redis refuses it throughout; the first request learns that from Redis, and the isolate remembers it.
    const { requests, windowSeconds } = plans.free.rateLimit;
    const window = Math.floor(Date.now() / (windowSeconds * 1000));
    for (const index of [window - 1, window, window + 1]) {
      await redis.set(`${redisKeys.rateLimitPrefix}:${keyId}:${index}`, requests, { ex: 3 * windowSeconds });
    }
    expect((await gatewayWith(tagged, "/v1/hello", withKey(key))).status).toBe(429);
    await sleep(1100);
    await resetCounts(tag);

    const burst = await Promise.all(
      Array.from({ length: 10 }, () =>
        gatewayWith(tagged, "/v1/hello", withKey(key), { background: "keep" }),
      ),
    );
    expect(burst.map((response) => response.status)).toEqual(Array(10).fill(429));
    // The re-check's round trip, and no refund round trip: the quota unit goes back with the usage flush.
    expect(await roundTrips(tag)).toBe(1);
    await settleBackground();
    expect(await roundTrips(tag)).toBe(2);
    // Refused requests do not stay counted against the month's quota: both refunds have landed.
    const quotaKey = redisKeys.quota(account.id, monthWindow(Date.now()).id);
    expect(Number(await redis.get(quotaKey))).toBe(0);
  });

  it("reads a key it has not seen and its account in one round trip before the limit check", async () => {
    const tag = `miss${Date.now()}`;
    const tagged = { UPSTASH_REDIS_REST_URL: `${bridge}/__tag/${tag}` };
    const { key, account } = await accountWithKey("pro");
    expect((await gatewayWith(tagged, "/v1/hello", withKey(key))).status).toBe(200);
    // A second key of the same account: published to Redis when created, never seen by this isolate.
    const second = await createKey(account.id);
    await resetCounts(tag);
    const response = await gatewayWith(tagged, "/v1/hello", withKey(second.key), { background: "keep" });
    expect(response.status).toBe(200);
    // One for both records (RESOLVE_SCRIPT), one for the limits; the usage flush comes later.
    expect(await roundTrips(tag)).toBe(2);
    await settleBackground();
  });
});
