import type { Context } from "hono";
import type { AccountRecord, KeyRecord } from "../keys/records";
import type { AppEnv } from "../lib/context";
import { ApiError } from "../lib/errors";
import type { Plan } from "../plans/plans";
import { redisKeys } from "../store/layout";
import { hotPathRedis } from "../store/redis";
import { admitLocally } from "./fallback-limiter";
import { monthWindow } from "./month";
import { rateLimitPolicy, windowName } from "./ratelimit-headers";
import { deferQuotaCharge, REFUSAL_FLUSH_DELAY_MS, recordUsage, scheduleUsageFlush } from "./usage";

export interface FailedCheck {
  /** Why Redis could not decide (down, or slower than RATE_LIMIT_TIMEOUT_MS). */
  error: unknown;
  key: KeyRecord;
  account: AccountRecord;
  plan: Plan;
  now: number;
}

/**
 * A request whose limit check in Redis failed, as RATE_LIMIT_FAIL_MODE says: `closed` refuses it (503);
 * `open` holds it to the key's rate limit counted in this isolate alone (fallback-limiter.ts) and, when it
 * is admitted, charges it to the month's quota once Redis answers again. Returns the RateLimit header of an
 * admitted request; throws the refusal otherwise.
 */
export function decideWithoutRedis(c: Context<AppEnv>, check: FailedCheck): string {
  const { error, key, account, plan, now } = check;
  const log = c.get("log");
  const config = c.get("config");
  if (config.rateLimitFailMode === "closed") {
    log.error("rate limit check failed; refusing (RATE_LIMIT_FAIL_MODE=closed)", { error, keyId: key.id });
    throw new ApiError("unavailable", {
      detail: "Limits could not be checked right now. Retry shortly.",
      headers: { "Retry-After": "1" },
    });
  }
  const local = admitLocally(key.id, plan, now);
  log.warn(
    "rate limit check failed; applying the key's rate limit in this isolate (RATE_LIMIT_FAIL_MODE=open)",
    {
      error,
      keyId: key.id,
      admitted: local.admitted,
    },
  );
  const state = `"${windowName(plan.rateLimit.windowSeconds)}";r=${local.remaining};t=${local.resetSeconds}`;
  if (!local.admitted) {
    c.set("outcome", "rate_limited_local");
    recordUsage(key.id, account.id, "rate_limited", now);
    c.executionCtx.waitUntil(scheduleUsageFlush(hotPathRedis(config), log, REFUSAL_FLUSH_DELAY_MS));
    throw new ApiError("rate_limited", {
      detail: "Too many requests for this key. Retry after the number of seconds in Retry-After.",
      headers: {
        "Retry-After": String(local.resetSeconds),
        "RateLimit-Policy": rateLimitPolicy(plan),
        RateLimit: state,
      },
    });
  }
  c.set("outcome", "ok_local");
  // Redis did not count it against the month's quota: the next batch that reaches Redis will.
  const month = monthWindow(now);
  deferQuotaCharge(redisKeys.quota(account.id, month.id), month.expireAtMs);
  return state;
}
