import { lt, or } from "drizzle-orm";
import type { Database } from "../db/client";
import { accountTokens } from "../db/schema/account-tokens";
import { quotaAlerts } from "../db/schema/quota-alerts";
import { stripeEvents } from "../db/schema/stripe-events";
import { usageDaily } from "../db/schema/usage-daily";
import { DAY_MS, utcDay } from "../lib/time";

/** Stripe retries an event for up to three days; a month of ids is ample for idempotency. */
const STRIPE_EVENT_RETENTION_DAYS = 30;
/** Usage history shown in the portal and the admin API. */
const USAGE_RETENTION_DAYS = 400;
/** Portal accounts: used or expired mail tokens are kept a month (to answer "this link was used"), then go. */
const TOKEN_RETENTION_DAYS = 30;
/** Quota alerts matter for their month only; a year of them answers "were we warned?". */
const QUOTA_ALERT_RETENTION_DAYS = 400;

/** Deletes what no longer serves a purpose. Deleting is idempotent, so overlapping runs are harmless. */
export async function pruneOldData(
  db: Database,
  now: Date,
): Promise<{ stripeEvents: number; usageDays: number; accountTokens: number; quotaAlerts: number }> {
  const daysAgo = (days: number) => new Date(now.getTime() - days * DAY_MS);
  const events = await db
    .delete(stripeEvents)
    .where(lt(stripeEvents.processedAt, daysAgo(STRIPE_EVENT_RETENTION_DAYS)))
    .returning({ id: stripeEvents.id });
  const usage = await db
    .delete(usageDaily)
    .where(lt(usageDaily.day, utcDay(daysAgo(USAGE_RETENTION_DAYS).getTime())))
    .returning({ day: usageDaily.day });
  const tokens = await db
    .delete(accountTokens)
    .where(
      or(
        lt(accountTokens.expiresAt, daysAgo(TOKEN_RETENTION_DAYS)),
        lt(accountTokens.usedAt, daysAgo(TOKEN_RETENTION_DAYS)),
      ),
    )
    .returning({ hash: accountTokens.tokenHash });
  const alerts = await db
    .delete(quotaAlerts)
    .where(lt(quotaAlerts.createdAt, daysAgo(QUOTA_ALERT_RETENTION_DAYS)))
    .returning({ month: quotaAlerts.month });
  return {
    stripeEvents: events.length,
    usageDays: usage.length,
    accountTokens: tokens.length,
    quotaAlerts: alerts.length,
  };
}
