import { sql } from "drizzle-orm";
import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** A customer of the API: owns keys, has a tier, and maps to at most one Stripe customer. */
export const accounts = pgTable(
  "accounts",
  {
    id: text("id").primaryKey(),
    /** Stored lower-cased so uniqueness ignores case. */
    email: text("email").notNull().unique(),
    tier: text("tier").notNull().default("free"),
    stripeCustomerId: text("stripe_customer_id").unique(),
    stripeSubscriptionId: text("stripe_subscription_id"),
    subscriptionStatus: text("subscription_status"),
    pastDueSince: timestamp("past_due_since", { withTimezone: true }),
    /** Billing: the tier the Stripe subscription pays for; `tier` is what applies now (past-due grace, cancellation). */
    subscribedTier: text("subscribed_tier"),
    /** Billing: when the account's subscription ends (cancel at period end), as Stripe last said. */
    subscriptionCancelAt: timestamp("subscription_cancel_at", { withTimezone: true }),
    /** Billing: an open invoice whose payment waits for the customer's authentication (3-D Secure). */
    paymentActionInvoiceId: text("payment_action_invoice_id"),
    /** Billing: the tier Stripe will move the subscription to at `scheduledChangeAt` (schedule or cancel). */
    scheduledTier: text("scheduled_tier"),
    scheduledChangeAt: timestamp("scheduled_change_at", { withTimezone: true }),
    /** Billing: when the state above was last read from Stripe. */
    billingSyncedAt: timestamp("billing_synced_at", { withTimezone: true }),
    /** Portal accounts: when the owner proved they read mail at `email` (null: not yet). */
    emailVerifiedAt: timestamp("email_verified_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true })
      .notNull()
      .defaultNow()
      .$onUpdate(() => sql`now()`),
  },
  (table) => [
    index("accounts_tier_idx").on(table.tier),
    index("accounts_past_due_since_idx").on(table.pastDueSince).where(sql`${table.pastDueSince} IS NOT NULL`),
  ],
);

export type Account = typeof accounts.$inferSelect;
export type NewAccount = typeof accounts.$inferInsert;
