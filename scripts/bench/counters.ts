import type { LocalStack } from "../stack/local-stack.ts";

/** What one phase cost the stores, counted where the requests land (the bridge, the Neon proxy). */
export interface StoreCounts {
  /** HTTP requests the gateway made to the Upstash bridge. */
  redisRoundTrips: number;
  /** Redis commands those requests carried (a /pipeline of 5 counts 5). */
  redisCommands: number;
  /** Query ('Q') and Execute ('E') messages through the Neon proxy. */
  pgQueries: number;
  /** WebSocket connections opened through the Neon proxy. */
  pgConnections: number;
}

export interface StoreCounters {
  /** The gateway's bridge URL: the stack's, ending in /__tag/TAG so only its requests are counted. */
  taggedRestUrl: string;
  reset(): Promise<void>;
  read(): Promise<StoreCounts>;
}

/**
 * Counts the gateway's Redis round trips at the Upstash bridge (under its own tag, so the benchmark's own
 * set-up requests through the bridge are not counted) and its Postgres queries at the Neon proxy, which
 * only the gateway uses (the benchmark writes to Postgres directly).
 */
export function storeCounters(stack: LocalStack, tag: string): StoreCounters {
  const restUrl = stack.workerVars.UPSTASH_REDIS_REST_URL;
  const token = stack.workerVars.UPSTASH_REDIS_REST_TOKEN;
  if (!stack.bridge || !restUrl || !token) throw new Error("the benchmark needs the local Upstash bridge");
  const statsUrl = `${restUrl}/__bridge/stats?tag=${encodeURIComponent(tag)}`;
  const call = async (method: "GET" | "POST") => {
    const response = await fetch(statsUrl, { method, headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`bridge stats: HTTP ${response.status}`);
    return (await response.json()) as { httpRequests: number; commands: number };
  };
  return {
    taggedRestUrl: `${restUrl}/__tag/${tag}`,
    async reset() {
      await call("POST");
      stack.proxy.resetStats();
    },
    async read() {
      const redis = await call("GET");
      return {
        redisRoundTrips: redis.httpRequests,
        redisCommands: redis.commands,
        pgQueries: stack.proxy.stats.queries,
        pgConnections: stack.proxy.stats.connections,
      };
    },
  };
}
