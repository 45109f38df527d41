import { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../config";

const clients = new Map<string, Redis>();

function client(config: Config, timeoutMs: number): Redis {
  const id = `${config.upstashRedisRestUrl}\n${config.upstashRedisRestToken}\n${timeoutMs}`;
  let redis = clients.get(id);
  if (!redis) {
    redis = new Redis({
      url: config.upstashRedisRestUrl,
      token: config.upstashRedisRestToken,
      enableTelemetry: false,
      // The hot path batches explicitly (CommandBatch); implicit batching would split reads from writes.
      enableAutoPipelining: false,
      // Everything the gateway stores is JSON or numbers (valid UTF-8), so replies need no base64 round trip:
      // decoding every string of every reply was a measurable share of the hot path's CPU.
      responseEncoding: false,
      // Retries would multiply the deadline; callers decide what a failure means (fail open or closed).
      retry: false,
      // A function: a fresh deadline for every HTTP request, which then throws instead of hanging.
      signal: () => AbortSignal.timeout(timeoutMs),
    });
    clients.set(id, redis);
  }
  return redis;
}

/**
 * The Upstash client for the request path, with the short RATE_LIMIT_TIMEOUT_MS deadline (not the SDK's
 * 5 s): a slow Redis must not stall every API call. One client per isolate: it is stateless HTTP.
 */
export function hotPathRedis(config: Config): Redis {
  return client(config, config.rateLimitTimeoutMs);
}

/** The Upstash client for admin, webhook and scheduled work, where a few seconds' patience is right. */
export function redisFor(config: Config): Redis {
  return client(config, 5000);
}
