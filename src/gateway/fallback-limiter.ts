import { TtlCache } from "../lib/ttl-cache";
import type { Plan } from "../plans/plans";

/**
 * What RATE_LIMIT_FAIL_MODE=open falls back to when Redis cannot decide in time (down, or slower than
 * RATE_LIMIT_TIMEOUT_MS): the key's own rate limit, counted in this isolate alone, in fixed windows.
 * Degraded on purpose: each isolate admits up to the limit by itself and the monthly quota is not checked
 * (what is admitted is charged to it later, usage.ts), but a client hammering through an outage, or a burst that makes the checks time out, is no longer
 * admitted unchecked.
 */
interface LocalWindow {
  index: number;
  count: number;
}

const windows = new TtlCache<string, LocalWindow>(10_000, 60 * 60 * 1000);

export interface LocalDecision {
  admitted: boolean;
  /** Requests this isolate still admits for the key in the current window. */
  remaining: number;
  /** Seconds until the current window ends. */
  resetSeconds: number;
}

export function admitLocally(keyId: string, plan: Plan, now: number): LocalDecision {
  const windowMs = plan.rateLimit.windowSeconds * 1000;
  const index = Math.floor(now / windowMs);
  const resetSeconds = Math.max(1, Math.ceil(((index + 1) * windowMs - now) / 1000));
  const current = windows.get(keyId, now);
  const window = current && current.index === index ? current : { index, count: 0 };
  if (window.count >= plan.rateLimit.requests) {
    windows.set(keyId, window, now, windowMs);
    return { admitted: false, remaining: 0, resetSeconds };
  }
  window.count++;
  windows.set(keyId, window, now, windowMs);
  return { admitted: true, remaining: plan.rateLimit.requests - window.count, resetSeconds };
}
