import { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../config";
import { lagTolerantTimeout } from "../lib/lag-tolerant-timeout";

/**
 * The latest (ms) a request-path Redis call is aborted however busy the isolate is: 3 deadlines. Below it,
 * the deadline counts only time the isolate was free to read the reply (lib/lag-tolerant-timeout.ts).
 */
export function deadlineCapMs(timeoutMs: number): number {
  return 3 * timeoutMs;
}

const clients = new Map<string, Redis>();

function client(config: Config, use: string, deadline: () => AbortSignal): Redis {
  const id = `${config.upstashRedisRestUrl}\n${config.upstashRedisRestToken}\n${use}`;
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
      signal: deadline,
    });
    clients.set(id, redis);
  }
  return redis;
}

/**
 * The Upstash client for the request path, with the short RATE_LIMIT_TIMEOUT_MS deadline (not the SDK's
 * 5 s): a slow Redis must not stall every API call. The deadline counts time the isolate was free to read
 * the reply, up to deadlineCapMs: a burst of the isolate's own requests must not pass for a slow Redis.
 * One client per isolate: it is stateless HTTP.
 */
export function hotPathRedis(config: Config): Redis {
  const timeoutMs = config.rateLimitTimeoutMs;
  return client(config, `request path ${timeoutMs}`, () =>
    lagTolerantTimeout(timeoutMs, deadlineCapMs(timeoutMs)),
  );
}

/** The Upstash client for admin, webhook and scheduled work, where a few seconds' patience is right. */
export function redisFor(config: Config): Redis {
  return client(config, "patient", () => AbortSignal.timeout(5000));
}
