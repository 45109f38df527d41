import type { Redis } from "@upstash/redis/cloudflare";
import { and, asc, between, eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { apiKeys } from "../db/schema/api-keys";
import { type UsageOutcome, usageDaily, usageOutcomes } from "../db/schema/usage-daily";
import { DAY_MS, utcDay } from "../lib/time";
import { redisKeys } from "../store/layout";
import { parseCounterField, scanHash } from "./usage-counters";

export type DayCounts = { day: string; total: number } & Record<UsageOutcome, number>;

export interface UsageSeries {
  accountId: string;
  granularity: "day";
  from: string;
  to: string;
  keys: Array<{ keyId: string; name: string; series: DayCounts[] }>;
  total: DayCounts[];
}

/** Days the scheduled rollup may not have copied yet: read live from Redis and merged in. */
const LIVE_DAYS = 2;

function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS) {
    days.push(utcDay(t));
  }
  return days;
}

const emptyDay = (day: string): DayCounts => ({ day, total: 0, ok: 0, rate_limited: 0, quota: 0, auth: 0 });

/**
 * Requests per key and day, by outcome, for one account: rolled-up days from Postgres, and the most recent
 * days from Redis (absolute counts, so the greater value is the current one). Summed over the tiers the
 * requests were made in. Dense: every day and every key of the account appears, with zeros where nothing
 * happened.
 */
export async function usageSeries(
  deps: { db: Database; redis: Redis },
  accountId: string,
  range: { from: string; to: string },
  now: number,
): Promise<UsageSeries> {
  const days = daysBetween(range.from, range.to);
  const [keys, rows] = await Promise.all([
    deps.db
      .select({ id: apiKeys.id, name: apiKeys.name })
      .from(apiKeys)
      .where(eq(apiKeys.accountId, accountId))
      .orderBy(asc(apiKeys.createdAt)),
    deps.db
      .select()
      .from(usageDaily)
      .where(and(eq(usageDaily.accountId, accountId), between(usageDaily.day, range.from, range.to))),
  ]);
  // Per tier first: Postgres and Redis are merged counter by counter (the greater absolute count wins), and
  // only then summed over tiers, which this API does not show.
  const byTier = new Map<string, number>();
  const tierSlot = (keyId: string, day: string, outcome: string, tier: string) =>
    `${keyId}|${day}|${outcome}|${tier}`;
  for (const row of rows) byTier.set(tierSlot(row.keyId, row.day, row.outcome, row.tier), row.count);

  const liveDays = daysBetween(utcDay(now - (LIVE_DAYS - 1) * DAY_MS), range.to).filter(
    (day) => day >= range.from && days.includes(day),
  );
  for (const day of liveDays) {
    for await (const page of scanHash(deps.redis, redisKeys.usageDay(day), { match: `*|${accountId}|*` })) {
      for (const [field, value] of page) {
        const counter = parseCounterField(field, value);
        if (!counter || counter.accountId !== accountId) continue;
        const id = tierSlot(counter.keyId, day, counter.outcome, counter.tier);
        byTier.set(id, Math.max(byTier.get(id) ?? 0, counter.count));
      }
    }
  }
  const counts = new Map<string, number>();
  const slot = (keyId: string, day: string, outcome: string) => `${keyId}|${day}|${outcome}`;
  for (const [id, count] of byTier) {
    const [keyId, slotDay, outcome] = id.split("|") as [string, string, string];
    const summed = slot(keyId, slotDay, outcome);
    counts.set(summed, (counts.get(summed) ?? 0) + count);
  }

  const total = days.map(emptyDay);
  const series = keys.map((key) => ({
    keyId: key.id,
    name: key.name,
    series: days.map((day, index) => {
      const point = emptyDay(day);
      for (const outcome of usageOutcomes) {
        const count = counts.get(slot(key.id, day, outcome)) ?? 0;
        point[outcome] = count;
        point.total += count;
        const sum = total[index] as DayCounts;
        sum[outcome] += count;
        sum.total += count;
      }
      return point;
    }),
  }));
  return { accountId, granularity: "day", from: range.from, to: range.to, keys: series, total };
}
