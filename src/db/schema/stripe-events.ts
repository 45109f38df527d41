import { bigint, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** Stripe events already applied: the primary key makes each event id take effect once. */
export const stripeEvents = pgTable("stripe_events", {
  id: text("id").primaryKey(),
  type: text("type").notNull(),
  /** The event's own `created` (unix seconds). */
  created: bigint("created", { mode: "number" }).notNull(),
  accountId: text("account_id"),
  processedAt: timestamp("processed_at", { withTimezone: true }).notNull().defaultNow(),
});

export type StripeEvent = typeof stripeEvents.$inferSelect;
