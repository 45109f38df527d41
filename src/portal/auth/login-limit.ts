import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../../config";
import { redisKeys } from "../../store/layout";
import { sha256Hex } from "./session-store";

const WINDOW = "15 m";

/**
 * A sliding window that never refuses: read as a count of the attempts in the last 15 minutes. The per-email
 * count across client addresses only slows answers down (loginSlowdownMs), so it has no limit to reach.
 */
const UNLIMITED = 1_000_000_000;

type LimiterKind = "address" | "email-address" | "email";

/**
 * Brute-force limits on logins (and sign-ups, per client address): sliding windows of @upstash/ratelimit in
 * Redis, so every isolate and every Cloudflare location counts against the same numbers. Off the hot path,
 * so the library's own request per check is fine. Its timeout is off (0): with it, a slow Redis would let
 * attempts through unlimited; a login needs Redis for its session anyway. The ephemeral cache is off: a
 * refusal must not outlive the window of another isolate's count.
 */
function limiter(redis: Redis, kind: LimiterKind, attempts: number): Ratelimit {
  return new Ratelimit({
    redis,
    limiter: Ratelimit.slidingWindow(attempts, WINDOW),
    prefix: `${redisKeys.portalLoginPrefix}:${kind}`,
    ephemeralCache: false,
    analytics: false,
    timeout: 0,
  });
}

/** Allowed with `delayMs`, how long to wait before answering (0 unless the email is tried from many
 * clients); or refused, to be tried again after `retryAfterSeconds`. */
type AttemptVerdict = { allowed: true; delayMs: number } | { allowed: false; retryAfterSeconds: number };

type LoginLimitConfig = Pick<
  Config,
  "portalLoginAttemptsPerEmail" | "portalLoginAttemptsPerIp" | "portalLoginSlowdownMaxMs"
>;

/**
 * How long to hold a login's answer (ms) when `attempts` were made on its email in the last 15 minutes from
 * all client addresses together (this one included): nothing for the first `free`, then a delay that
 * doubles with each attempt, from an eighth of `maxMs` up to `maxMs`. A delay, never a refusal: a refusal per
 * email would let anyone lock its owner out (OWASP ASVS 4.0 V2.2.1 names account lockout as an attack to
 * resist, and "ever increasing delays" as a control; OWASP Authentication Cheat Sheet, "Account Lockout").
 */
export function loginSlowdownMs(attempts: number, free: number, maxMs: number): number {
  const over = attempts - free;
  if (over <= 0 || maxMs <= 0) return 0;
  return Math.min(maxMs, Math.ceil(maxMs / 8) * 2 ** Math.min(over - 1, 10));
}

const emailId = async (email: string) => (await sha256Hex(email.trim().toLowerCase())).slice(0, 32);

const retryAfter = (results: Array<{ success: boolean; reset: number }>): AttemptVerdict => {
  const refused = results.filter((result) => !result.success);
  if (refused.length === 0) return { allowed: true, delayMs: 0 };
  const reset = Math.max(...refused.map((result) => result.reset));
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((reset - Date.now()) / 1000)) };
};

/**
 * Counts one login attempt, known email or not (so neither the refusal nor the delay says which emails have
 * accounts). `address` is a clientAddressKey() (one counter per IPv4 address or IPv6 /64); the email is
 * lower-cased and hashed (no addresses in Redis key names).
 * - Refused (429 + Retry-After) past `portalLoginAttemptsPerIp` attempts from the address, or past
 *   `portalLoginAttemptsPerEmail` attempts on the email from the address: what one client may try.
 * - Allowed otherwise, with `delayMs` from the email's count across all addresses (loginSlowdownMs): many
 *   clients together are slowed down, and the owner with the right password still gets in.
 */
export async function countLoginAttempt(
  redis: Redis,
  config: LoginLimitConfig,
  who: { address: string; email: string },
): Promise<AttemptVerdict> {
  const email = await emailId(who.email);
  const [perAddress, perPair, perEmail] = await Promise.all([
    limiter(redis, "address", config.portalLoginAttemptsPerIp).limit(who.address),
    limiter(redis, "email-address", config.portalLoginAttemptsPerEmail).limit(`${email}:${who.address}`),
    limiter(redis, "email", UNLIMITED).limit(email),
  ]);
  const verdict = retryAfter([perAddress, perPair]);
  if (!verdict.allowed) return verdict;
  const attempts = UNLIMITED - perEmail.remaining;
  return {
    allowed: true,
    delayMs: loginSlowdownMs(attempts, config.portalLoginAttemptsPerEmail, config.portalLoginSlowdownMaxMs),
  };
}

/**
 * Counts one sign-up against the client address's limit (shared with logins). Per address only: a count per
 * email here would let anyone lock an email out of signing up.
 */
export async function countSignUpAttempt(
  redis: Redis,
  config: Pick<Config, "portalLoginAttemptsPerIp">,
  who: { address: string },
): Promise<AttemptVerdict> {
  return retryAfter([await limiter(redis, "address", config.portalLoginAttemptsPerIp).limit(who.address)]);
}
