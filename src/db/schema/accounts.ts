import { sql } from "drizzle-orm";
import { bigint, index, pgTable, text, timestamp } from "drizzle-orm/pg-core";

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
    /** `created` (unix seconds) of the newest Stripe event applied, so an older event never overwrites newer state. */
    billingEventCreated: bigint("billing_event_created", { mode: "number" }),
    pastDueSince: timestamp("past_due_since", { withTimezone: true }),
    /** Billing: the tier the Stripe subscription pays for; `tier` is what applies now (past-due grace, cancellation). */
    subscribedTier: text("subscribed_tier"),
    /**
     * Billing: `created` of the newest Stripe event applied to `past_due_since`. Payment events (invoice.*) and
     * subscription snapshots are ordered separately, so neither kind can hide a newer event of the other.
     */
    paymentEventCreated: bigint("payment_event_created", { mode: "number" }),
    /** Portal accounts: when the owner proved they read mail at `email` (null: not yet). */
    emailVerifiedAt: timestamp("email_verified_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true })
      .notNull()
      .defaultNow()
      .$onUpdate(() => sql`now()`),
  },
  (table) => [index("accounts_tier_idx").on(table.tier)],
);

export type Account = typeof accounts.$inferSelect;
export type NewAccount = typeof accounts.$inferInsert;
