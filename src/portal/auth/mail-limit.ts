import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import { redisKeys } from "../../store/layout";
import { sha256Hex } from "./session-store";

/**
 * Limits on the mails a visitor can make the portal send, so the portal cannot be used to flood an inbox or
 * burn the provider's sending quota: verification resends per account, password resets per address (hashed:
 * no addresses in Redis key names) and per client IP. @upstash/ratelimit sliding windows, off the hot path;
 * same settings as the login limiter (no timeout, no ephemeral cache).
 */
export const MAIL_LIMITS = {
  /** Verification resends per account. */
  verificationResend: { attempts: 3, window: "1 h" },
  /** Reset requests per email address, known or not (so the limit says nothing about who has an account). */
  resetPerEmail: { attempts: 3, window: "1 h" },
  /** Reset requests per client IP. */
  resetPerIp: { attempts: 20, window: "1 h" },
} as const;

type LimitName = keyof typeof MAIL_LIMITS;

function limiter(redis: Redis, name: LimitName): Ratelimit {
  const { attempts, window } = MAIL_LIMITS[name];
  return new Ratelimit({
    redis,
    limiter: Ratelimit.slidingWindow(attempts, window),
    prefix: `${redisKeys.portalMailPrefix}:${name}`,
    ephemeralCache: false,
    analytics: false,
    timeout: 0,
  });
}

export type MailVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Counts one mail request against each named limit; refused when any is over. Emails are hashed first. */
export async function countMailRequest(
  redis: Redis,
  checks: Array<{ limit: LimitName; id: string; isEmail?: boolean }>,
): Promise<MailVerdict> {
  const results = await Promise.all(
    checks.map(async (check) =>
      limiter(redis, check.limit).limit(
        check.isEmail ? (await sha256Hex(check.id.trim().toLowerCase())).slice(0, 32) : check.id,
      ),
    ),
  );
  const refused = results.filter((result) => !result.success);
  if (refused.length === 0) return { allowed: true };
  const reset = Math.max(...refused.map((result) => result.reset));
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((reset - Date.now()) / 1000)) };
}
