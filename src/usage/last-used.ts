import type { Redis } from "@upstash/redis/cloudflare";
import { redisKeys } from "../store/layout";

/** Last-used times (unix ms) the edge has written to Redis and the rollup may not have copied yet. */
export async function lastUsedTimes(redis: Redis, keyIds: string[]): Promise<Map<string, number>> {
  if (keyIds.length === 0) return new Map();
  const values = await redis.hmget<Record<string, number | null>>(redisKeys.lastUsed, ...keyIds);
  const times = new Map<string, number>();
  for (const [keyId, value] of Object.entries(values ?? {})) {
    if (value !== null && Number.isFinite(Number(value))) times.set(keyId, Number(value));
  }
  return times;
}
