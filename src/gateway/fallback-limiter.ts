import { TtlCache } from "../lib/ttl-cache";
import type { Plan } from "../plans/plans";

/**
 * What RATE_LIMIT_FAIL_MODE=open falls back to when Redis cannot decide in time (down, or slower than
 * RATE_LIMIT_TIMEOUT_MS) and this isolate holds no lease for the key: the key's own rate limit, counted in
 * this isolate alone, in fixed windows. Degraded on purpose: each isolate admits up to the limit by itself
 * and the monthly quota is not checked (what is admitted is charged to it later, usage.ts), but a client
 * hammering through an outage is no longer admitted unchecked.
 */
interface LocalWindow {
  index: number;
  count: number;
}

export interface LocalDecision {
  admitted: boolean;
  /** Requests this isolate still admits for the key in the current window. */
  remaining: number;
  /** Seconds until the current window ends. */
  resetSeconds: number;
}

export class FallbackLimiter {
  private readonly windows = new TtlCache<string, LocalWindow>(10_000, 60 * 60 * 1000);

  /** Counts one request of `keyId` in this isolate's fixed window and says whether it fits `plan`'s limit. */
  admit(keyId: string, plan: Plan, now: number): LocalDecision {
    const windowMs = plan.rateLimit.windowSeconds * 1000;
    const index = Math.floor(now / windowMs);
    const resetSeconds = Math.max(1, Math.ceil(((index + 1) * windowMs - now) / 1000));
    const current = this.windows.get(keyId, now);
    const window = current && current.index === index ? current : { index, count: 0 };
    if (window.count >= plan.rateLimit.requests) {
      this.windows.set(keyId, window, now, windowMs);
      return { admitted: false, remaining: 0, resetSeconds };
    }
    window.count++;
    this.windows.set(keyId, window, now, windowMs);
    return { admitted: true, remaining: plan.rateLimit.requests - window.count, resetSeconds };
  }
}
