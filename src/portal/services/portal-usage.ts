import type { Redis } from "@upstash/redis/cloudflare";
import type { Database } from "../../db/client";
import { monthWindow } from "../../gateway/month";
import { ApiError } from "../../lib/errors";
import { planFor } from "../../plans/plans";
import { redisKeys } from "../../store/layout";
import { type DayCounts, type UsageSeries, usageSeries } from "../../usage/usage-service";

interface QuotaUse {
  /** YYYY-MM, UTC. */
  month: string;
  used: number;
  limit: number;
  /** When the count starts again from zero (ISO). */
  resetsAt: string;
}

export interface PortalUsage extends UsageSeries {
  quota: QuotaUse;
}

/**
 * This month's quota use: the live counter the edge checks and counts in (gw:quota:{account}:{month}), so
 * the bar shows what the next request will be measured against, not yesterday's rollup.
 */
export async function quotaUse(
  redis: Redis,
  accountId: string,
  tier: string,
  now: number,
): Promise<QuotaUse> {
  const month = monthWindow(now);
  const used = Number((await redis.get<number | string>(redisKeys.quota(accountId, month.id))) ?? 0);
  return {
    month: month.id,
    used: Number.isFinite(used) ? used : 0,
    limit: planFor(tier).monthlyQuota,
    resetsAt: new Date(month.endMs).toISOString(),
  };
}

/** The account's usage by key and day plus its quota; `keyId` narrows `keys` to one of its own keys (else 404). */
export async function portalUsage(
  deps: { db: Database; redis: Redis },
  account: { id: string; tier: string },
  options: { range: { from: string; to: string }; keyId?: string; now: number },
): Promise<PortalUsage> {
  const [series, quota] = await Promise.all([
    usageSeries(deps, account.id, options.range, options.now),
    quotaUse(deps.redis, account.id, account.tier, options.now),
  ]);
  if (options.keyId === undefined) return { ...series, quota };
  const key = series.keys.find((candidate) => candidate.keyId === options.keyId);
  if (!key) throw new ApiError("not_found", { detail: "No key with this id." });
  return { ...series, keys: [key], quota };
}

/** Sums a series over its days, per outcome. */
export function totalsOf(series: DayCounts[]): Omit<DayCounts, "day"> {
  const sum = { total: 0, ok: 0, rate_limited: 0, quota: 0, auth: 0 };
  for (const day of series) {
    sum.total += day.total;
    sum.ok += day.ok;
    sum.rate_limited += day.rate_limited;
    sum.quota += day.quota;
    sum.auth += day.auth;
  }
  return sum;
}
