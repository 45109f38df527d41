import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { utcDay } from "../../src/gateway/usage";
import { plans } from "../../src/plans/plans";
import { accountWithKey, gatewayWith, redis, settleBackground, withKey } from "./support";

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
});
