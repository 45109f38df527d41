import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../../config";
import { redisKeys } from "../../store/layout";
import { sha256Hex } from "./session-store";

const WINDOW = "15 m";

/**
 * Brute-force limits on logins (and sign-ups, per IP): sliding windows of @upstash/ratelimit, one per email and
 * one per client IP. Every attempt counts, known email or not, so the limit itself says nothing about which
 * emails have accounts. Off the hot path, so the library's own request per check is fine. Its timeout is
 * off (0): with it, a slow Redis would let attempts through unlimited; a login needs Redis for its session
 * anyway. The ephemeral cache is off: a refusal must not outlive the window of another isolate's count.
 */
function limiter(redis: Redis, kind: "email" | "ip", attempts: number): Ratelimit {
  return new Ratelimit({
    redis,
    limiter: Ratelimit.slidingWindow(attempts, WINDOW),
    prefix: `${redisKeys.portalLoginPrefix}:${kind}`,
    ephemeralCache: false,
    analytics: false,
    timeout: 0,
  });
}

export type AttemptVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** The client's IP as Cloudflare saw it (clients cannot set CF-Connecting-IP through Cloudflare). */
export function clientIp(header: string | undefined): string {
  return header && /^[0-9A-Fa-f:.]{2,45}$/.test(header) ? header : "unknown";
}

/**
 * Counts one attempt against the IP and, when given, the email (lower-cased and hashed: no addresses in
 * Redis key names). Refused when either is over its limit.
 */
export async function countAttempt(
  redis: Redis,
  config: Pick<Config, "portalLoginAttemptsPerEmail" | "portalLoginAttemptsPerIp">,
  who: { ip: string; email?: string },
): Promise<AttemptVerdict> {
  const checks = [limiter(redis, "ip", config.portalLoginAttemptsPerIp).limit(who.ip)];
  if (who.email !== undefined) {
    const emailId = (await sha256Hex(who.email.trim().toLowerCase())).slice(0, 32);
    checks.push(limiter(redis, "email", config.portalLoginAttemptsPerEmail).limit(emailId));
  }
  const results = await Promise.all(checks);
  const refused = results.filter((result) => !result.success);
  if (refused.length === 0) return { allowed: true };
  const reset = Math.max(...refused.map((result) => result.reset));
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((reset - Date.now()) / 1000)) };
}
