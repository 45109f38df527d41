import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import { redisKeys } from "../../store/layout";
import { TOKEN_LIFETIMES_MS } from "./account-tokens";
import { sha256Hex } from "./session-store";

/**
 * Limits on the mails a visitor can make the portal send, so the portal cannot be used to flood an inbox or
 * burn the provider's sending quota, and a third party cannot use them to keep a developer from getting a
 * link. @upstash/ratelimit sliding windows in Redis (every isolate counts against the same numbers), off the
 * hot path; same settings as the login limiter (no timeout, no ephemeral cache).
 *
 * Requests are refused (429) per client: verification resends per account (only its signed-in owner can ask),
 * reset requests per (email, client address) and per client address. Nothing refuses a reset request per
 * email across addresses: that would let anyone lock the owner out of resetting. Instead the reset MAILS an
 * address receives are paced (mayMailReset): the first few at once, then one per RESET_MAIL_SPACING_MS.
 */
export const MAIL_LIMITS = {
  /** Verification resends per account. */
  verificationResend: { attempts: 3, window: "1 h" },
  /** Reset requests per email address and client address, known email or not (the limit says nothing about
   * who has an account). */
  resetPerEmailAndAddress: { attempts: 3, window: "1 h" },
  /** Reset requests per client address. */
  resetPerAddress: { attempts: 20, window: "1 h" },
  /** Reset mails sent to one address at once, before pacing (mayMailReset); never refuses a request. */
  resetMailBurst: { attempts: 3, window: "1 h" },
} as const;

/**
 * Past the burst, one reset mail per address per this long (ms). Below the reset link's lifetime, so when a
 * request mails nothing, the link of the last mail (sent less than this long ago) still works.
 */
export const RESET_MAIL_SPACING_MS = 10 * 60_000;
if (RESET_MAIL_SPACING_MS >= TOKEN_LIFETIMES_MS.reset_password)
  throw new Error("RESET_MAIL_SPACING_MS must be shorter than a reset link's lifetime");

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

/** An email address as it appears in Redis key names: lower-cased, hashed (no addresses in key names). */
const emailId = async (email: string) => (await sha256Hex(email.trim().toLowerCase())).slice(0, 32);

type MailVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Counts one mail request against each named limit; refused when any is over. A check's identifier is the
 * hashed `email` and/or the `id` (an account id, or a clientAddressKey()), joined when both are given.
 */
export async function countMailRequest(
  redis: Redis,
  checks: Array<{ limit: Exclude<LimitName, "resetMailBurst">; id?: string; email?: string }>,
): Promise<MailVerdict> {
  const results = await Promise.all(
    checks.map(async (check) => {
      const parts = [check.email === undefined ? undefined : await emailId(check.email), check.id];
      return limiter(redis, check.limit).limit(parts.filter((part) => part !== undefined).join(":"));
    }),
  );
  const refused = results.filter((result) => !result.success);
  if (refused.length === 0) return { allowed: true };
  const reset = Math.max(...refused.map((result) => result.reset));
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((reset - Date.now()) / 1000)) };
}

const spacingKey = async (email: string) =>
  `${redisKeys.portalMailPrefix}:resetSpacing:${await emailId(email)}`;

/**
 * Whether a reset mail to `email` (an account's address) may go out now: yes for the first
 * MAIL_LIMITS.resetMailBurst of the hour, then yes when no reset mail went to it in the last
 * RESET_MAIL_SPACING_MS. Every yes marks the time (Redis SET PX; past the burst SET NX, so of concurrent
 * requests exactly one sends). A no leaves the newest link mailed (at most RESET_MAIL_SPACING_MS old) working.
 */
export async function mayMailReset(redis: Redis, email: string): Promise<boolean> {
  const key = await spacingKey(email);
  const burst = await limiter(redis, "resetMailBurst").limit(await emailId(email));
  if (burst.success) {
    await redis.set(key, "1", { px: RESET_MAIL_SPACING_MS });
    return true;
  }
  return (await redis.set(key, "1", { px: RESET_MAIL_SPACING_MS, nx: true })) === "OK";
}

/**
 * Forgets the last reset mail's time, so the next request mails at once: after a send failed (no working
 * link reached the inbox) or the link was used or revoked (none is left in it).
 */
export async function forgetResetMail(redis: Redis, email: string): Promise<void> {
  await redis.del(await spacingKey(email));
}
