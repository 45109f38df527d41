import type { Redis } from "@upstash/redis/cloudflare";
import { and, eq, inArray, isNull, lte } from "drizzle-orm";
import type { Database } from "../db/client";
import { accounts } from "../db/schema/accounts";
import { quotaAlerts } from "../db/schema/quota-alerts";
import type { Logger } from "../lib/log";
import type { Mailer } from "../mail/mail-client";
import { type Brand, mailTemplates } from "../mail/templates";
import { planFor, plans } from "../plans/plans";
import { redisKeys } from "../store/layout";
import { scanKeys } from "../usage/usage-counters";

/** Percent of the monthly quota at which an account's owner is mailed, once per UTC month each. */
const ALERT_THRESHOLDS = [80, 100] as const;

interface QuotaAlertDeps {
  db: Database;
  redis: Redis;
  log: Logger;
  /** Undefined when mail is not configured: the job then does nothing (and says so). */
  mailer: Mailer | undefined;
  brand: Brand;
  /** PORTAL_URL, for the "see your usage" link; without it the mail has no link. */
  portalUrl?: string;
}

interface QuotaAlertResult {
  month: string;
  counters: number;
  sent: number;
  failed: number;
  skipped?: "mail_not_configured";
}

const MGET_CHUNK = 500;
/** No account below this share of the smallest plan's quota can have crossed a threshold: not looked up. */
const smallestQuota = Math.min(...Object.values(plans).map((plan) => plan.monthlyQuota));

/** The highest threshold `used` has reached of `limit`, or undefined below the lowest. */
function thresholdReached(used: number, limit: number): number | undefined {
  return [...ALERT_THRESHOLDS].reverse().find((percent) => used * 100 >= limit * percent);
}

/**
 * Mails accounts that crossed 80 % or 100 % of this month's quota: part of the Cron Trigger, never the
 * request path. Reads the edge's own counters (`gw:quota:{accountId}:{YYYY-MM}`, SCAN + MGET), looks up the
 * tier and address of the few accounts near a threshold, and records each (account, month, threshold) in
 * `quota_alerts` before mailing: a row is claimed with a conditional UPDATE (sent_at null -> now), so
 * overlapping runs send it once; a refused mail gives the claim back for the next run. When 80 % and 100 %
 * are both new, one mail (100 %) covers both. The provider's Idempotency-Key guards a retry of the same mail.
 * @returns counts for the job log.
 */
export async function sendQuotaAlerts(deps: QuotaAlertDeps, now: Date): Promise<QuotaAlertResult> {
  const month = now.toISOString().slice(0, 7);
  if (!deps.mailer) return { month, counters: 0, sent: 0, failed: 0, skipped: "mail_not_configured" };
  const keys = await scanKeys(deps.redis, redisKeys.quota("*", month));
  const near = new Map<string, number>();
  for (let i = 0; i < keys.length; i += MGET_CHUNK) {
    const chunk = keys.slice(i, i + MGET_CHUNK);
    const values = await deps.redis.mget<Array<number | string | null>>(...chunk);
    chunk.forEach((key, index) => {
      const used = Number(values[index] ?? 0);
      const accountId = key.slice("gw:quota:".length, key.length - month.length - 1);
      if (used * 100 >= smallestQuota * ALERT_THRESHOLDS[0]) near.set(accountId, used);
    });
  }
  const result: QuotaAlertResult = { month, counters: keys.length, sent: 0, failed: 0 };
  if (near.size === 0) return result;
  const rows = await deps.db
    .select({ id: accounts.id, email: accounts.email, tier: accounts.tier })
    .from(accounts)
    .where(inArray(accounts.id, [...near.keys()]));
  for (const account of rows) {
    const used = near.get(account.id) ?? 0;
    const limit = planFor(account.tier).monthlyQuota;
    const reached = thresholdReached(used, limit);
    if (reached === undefined) continue;
    const crossed = ALERT_THRESHOLDS.filter((percent) => percent <= reached);
    await deps.db
      .insert(quotaAlerts)
      .values(crossed.map((threshold) => ({ accountId: account.id, month, threshold })))
      .onConflictDoNothing();
    const mine = and(eq(quotaAlerts.accountId, account.id), eq(quotaAlerts.month, month));
    const claimed = await deps.db
      .update(quotaAlerts)
      .set({ sentAt: now })
      .where(and(mine, isNull(quotaAlerts.sentAt), lte(quotaAlerts.threshold, reached)))
      .returning({ threshold: quotaAlerts.threshold });
    if (claimed.length === 0) continue;
    const threshold = Math.max(...claimed.map((row) => row.threshold));
    const mail = mailTemplates.quotaAlert(deps.brand, {
      percent: threshold,
      used,
      limit,
      month,
      usageLink: deps.portalUrl ? `${deps.portalUrl.replace(/\/$/, "")}/portal/usage` : undefined,
    });
    try {
      await deps.mailer.send(account.email, mail, {
        idempotencyKey: `quota-alert/${account.id}/${month}/${threshold}`,
      });
      result.sent += 1;
    } catch (error) {
      result.failed += 1;
      deps.log.error("quota alert not sent; the next run retries", {
        accountId: account.id,
        threshold,
        error,
      });
      await deps.db
        .update(quotaAlerts)
        .set({ sentAt: null })
        .where(
          and(
            mine,
            inArray(
              quotaAlerts.threshold,
              claimed.map((row) => row.threshold),
            ),
          ),
        );
    }
  }
  return result;
}
