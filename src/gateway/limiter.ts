import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import type { AccountRecord, CachedKey, KeyRecord } from "../keys/records";
import type { Plan } from "../plans/plans";
import { CommandBatch } from "../store/command-batch";
import { redisKeys } from "../store/layout";
import { evalScript } from "../store/scripts";
import { monthWindow } from "./month";
import { QUOTA_SCRIPT } from "./quota-script";
import { slidingWindowRetryMs } from "./retry-after";
import { deferQuotaRefund, drainUsageInto } from "./usage";

export interface WindowState {
  limit: number;
  remaining: number;
  /** Seconds until the window (or quota month) resets, or until a request would be admitted when blocked. */
  resetSeconds: number;
}

export type LimitDecision = "ok" | "rate_limited" | "quota";

export interface LimitOutcome {
  decision: LimitDecision;
  /** Whole seconds until a request would be admitted again (blocked decisions only). */
  retryAfter?: number;
  window: WindowState;
  burst?: WindowState;
  quota: WindowState;
  /** The key and account records as Redis holds them now (null: missing there, refill from Postgres). */
  fresh: { key: CachedKey | null; account: AccountRecord | null };
}

export interface LimitInput {
  hash: string;
  key: KeyRecord;
  account: AccountRecord;
  plan: Plan;
  now: number;
}

/**
 * One Redis round trip decides the request: it re-reads the key and account records (so revocations and
 * tier changes apply at once), runs @upstash/ratelimit's sliding window (and token bucket for burst tiers),
 * checks and counts the monthly quota, and carries earlier requests' usage counters. Throws when Redis fails;
 * the caller applies RATE_LIMIT_FAIL_MODE.
 */
export async function checkLimits(redis: Redis, input: LimitInput): Promise<LimitOutcome> {
  const { key, account, plan, now } = input;
  const batch = new CommandBatch(redis);
  const facade = batch.limiterFacade();
  const windowMs = plan.rateLimit.windowSeconds * 1000;
  const windowIndex = Math.floor(now / windowMs);
  const month = monthWindow(now);
  const quotaKey = redisKeys.quota(account.id, month.id);

  const records = batch.add<[CachedKey | null, AccountRecord | null]>((p) =>
    p.mget(redisKeys.apiKey(input.hash), redisKeys.account(account.id)),
  );
  // Window counters as they stand before this request: what an honest Retry-After is computed from.
  const counters = batch.add<[number | null, number | null]>((p) =>
    p.mget(
      `${redisKeys.rateLimitPrefix}:${key.id}:${windowIndex}`,
      `${redisKeys.rateLimitPrefix}:${key.id}:${windowIndex - 1}`,
    ),
  );
  const sliding = new Ratelimit({
    redis: facade,
    limiter: Ratelimit.slidingWindow(plan.rateLimit.requests, `${plan.rateLimit.windowSeconds} s`),
    prefix: redisKeys.rateLimitPrefix,
    ephemeralCache: false,
    timeout: 0,
    analytics: false,
  }).limit(key.id);
  const burst = plan.burst
    ? new Ratelimit({
        redis: facade,
        limiter: Ratelimit.tokenBucket(plan.burst.refillPerSecond, "1 s", plan.burst.capacity),
        prefix: redisKeys.burstPrefix,
        ephemeralCache: false,
        timeout: 0,
        analytics: false,
      }).limit(key.id)
    : undefined;
  // Earlier requests' usage and quota refunds, ahead of the quota script so it counts against refunded units.
  const restoreUsage = drainUsageInto(batch);
  const quota = evalScript<[number, number]>(
    batch,
    QUOTA_SCRIPT,
    [quotaKey],
    [plan.monthlyQuota, month.expireAtMs],
  );
  const replies = Promise.all([records, counters, sliding, burst, quota]);
  // If the batch fails, execute() throws below; the replies then reject with nobody left to await them.
  replies.catch(() => {});

  try {
    await batch.execute();
  } catch (error) {
    restoreUsage();
    throw error;
  }
  const [
    [freshKey, freshAccount],
    [currentCount, previousCount],
    slidingResult,
    burstResult,
    [quotaOk, quotaUsed],
  ] = await replies;

  const windowEndSeconds = Math.max(1, Math.ceil(((windowIndex + 1) * windowMs - now) / 1000));
  const quotaResetSeconds = Math.max(1, Math.ceil((month.endMs - now) / 1000));
  const outcome: LimitOutcome = {
    decision: "ok",
    window: {
      limit: plan.rateLimit.requests,
      remaining: slidingResult.remaining,
      resetSeconds: windowEndSeconds,
    },
    quota: {
      limit: plan.monthlyQuota,
      remaining: Math.max(0, plan.monthlyQuota - quotaUsed),
      resetSeconds: quotaResetSeconds,
    },
    fresh: { key: freshKey, account: freshAccount },
  };
  if (burstResult && plan.burst) {
    outcome.burst = {
      limit: plan.burst.capacity,
      remaining: burstResult.remaining,
      resetSeconds: Math.max(1, Math.ceil((burstResult.reset - now) / 1000)),
    };
  }

  if (quotaOk !== 1) {
    outcome.decision = "quota";
    outcome.retryAfter = quotaResetSeconds;
  } else if (!slidingResult.success || (burstResult && !burstResult.success)) {
    outcome.decision = "rate_limited";
    const waits: number[] = [];
    if (!slidingResult.success) {
      const retryMs = slidingWindowRetryMs({
        now,
        windowMs,
        limit: plan.rateLimit.requests,
        current: Number(currentCount ?? 0),
        previous: Number(previousCount ?? 0),
      });
      outcome.window.resetSeconds = Math.min(
        plan.rateLimit.windowSeconds,
        Math.max(1, Math.ceil(retryMs / 1000)),
      );
      waits.push(outcome.window.resetSeconds);
    }
    if (burstResult && !burstResult.success && outcome.burst) waits.push(outcome.burst.resetSeconds);
    outcome.retryAfter = Math.max(...waits);
    // The quota counted this request before the limiter refused it; the unit goes back in a later round
    // trip (the next request's, or the usage flush), not one of its own.
    deferQuotaRefund(quotaKey, month.expireAtMs);
  }
  return outcome;
}

/**
 * Restates an outcome decided under `from` in terms of `to`, for the one request that learns of a tier
 * change in its own round trip: its headers then already show the new tier. Usage so far is kept.
 */
export function restateForPlan(outcome: LimitOutcome, from: Plan, to: Plan): LimitOutcome {
  const used = (limit: number, state: WindowState) => limit - state.remaining;
  return {
    ...outcome,
    window: {
      ...outcome.window,
      limit: to.rateLimit.requests,
      remaining: Math.max(0, to.rateLimit.requests - used(from.rateLimit.requests, outcome.window)),
    },
    quota: {
      ...outcome.quota,
      limit: to.monthlyQuota,
      remaining: Math.max(0, to.monthlyQuota - used(from.monthlyQuota, outcome.quota)),
    },
    // A bucket of the old tier says nothing about the new one's; it is reported from the next request.
    burst: undefined,
  };
}
