import { lt } from "drizzle-orm";
import type { Database } from "../db/client";
import { stripeEvents } from "../db/schema/stripe-events";
import { usageDaily } from "../db/schema/usage-daily";

/** Stripe retries an event for up to three days; a month of ids is ample for idempotency. */
const STRIPE_EVENT_RETENTION_DAYS = 30;
/** Usage history shown in the portal and the admin API. */
const USAGE_RETENTION_DAYS = 400;

/** Deletes what no longer serves a purpose. Deleting is idempotent, so overlapping runs are harmless. */
export async function pruneOldData(
  db: Database,
  now: Date,
): Promise<{ stripeEvents: number; usageDays: number }> {
  const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000);
  const events = await db
    .delete(stripeEvents)
    .where(lt(stripeEvents.processedAt, daysAgo(STRIPE_EVENT_RETENTION_DAYS)))
    .returning({ id: stripeEvents.id });
  const usage = await db
    .delete(usageDaily)
    .where(lt(usageDaily.day, daysAgo(USAGE_RETENTION_DAYS).toISOString().slice(0, 10)))
    .returning({ day: usageDaily.day });
  return { stripeEvents: events.length, usageDays: usage.length };
}
