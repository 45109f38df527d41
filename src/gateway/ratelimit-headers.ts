import type { Plan } from "../plans/plans";
import type { WindowState } from "./limit-outcome";
import type { MonthWindow } from "./month";

/**
 * RateLimit-Policy and RateLimit headers of draft-ietf-httpapi-ratelimit-headers (structured-field lists):
 *   RateLimit-Policy: "minute";q=60;w=60, "month";q=10000;w=2592000
 *   RateLimit: "minute";r=41;t=23, "month";r=9958;t=1234567
 */

export function windowName(seconds: number): string {
  const names: Record<number, string> = { 1: "second", 60: "minute", 3600: "hour", 86400: "day" };
  return names[seconds] ?? `${seconds}s`;
}

/**
 * The policies of `plan`. The month's `w` is the length of the current UTC calendar month in seconds
 * (2,419,200 to 2,678,400), the window the quota really resets on, so `t` never exceeds it.
 */
export function rateLimitPolicy(plan: Plan, month: MonthWindow): string {
  // The same text for every request of a plan all month: built once per plan and month, not per request.
  const cached = policyTexts.get(plan);
  if (cached?.monthStartMs === month.startMs) return cached.text;
  const text = policyText(plan, month);
  policyTexts.set(plan, { monthStartMs: month.startMs, text });
  return text;
}

const policyTexts = new WeakMap<Plan, { monthStartMs: number; text: string }>();

function policyText(plan: Plan, month: MonthWindow): string {
  const policies = [
    `"${windowName(plan.rateLimit.windowSeconds)}";q=${plan.rateLimit.requests};w=${plan.rateLimit.windowSeconds}`,
  ];
  if (plan.burst) {
    const refillSeconds = Math.max(1, Math.ceil(plan.burst.capacity / plan.burst.refillPerSecond));
    policies.push(`"burst";q=${plan.burst.capacity};w=${refillSeconds}`);
  }
  policies.push(`"month";q=${plan.monthlyQuota};w=${(month.endMs - month.startMs) / 1000}`);
  return policies.join(", ");
}

export function rateLimitState(
  plan: Plan,
  state: { window: WindowState; burst?: WindowState; quota: WindowState },
): string {
  const items = [
    `"${windowName(plan.rateLimit.windowSeconds)}";r=${state.window.remaining};t=${state.window.resetSeconds}`,
  ];
  if (state.burst) items.push(`"burst";r=${state.burst.remaining};t=${state.burst.resetSeconds}`);
  items.push(`"month";r=${state.quota.remaining};t=${state.quota.resetSeconds}`);
  return items.join(", ");
}
