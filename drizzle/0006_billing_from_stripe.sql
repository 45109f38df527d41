-- Billing follows Stripe's current state (src/billing/customer-sync.ts), not event order: the `created`
-- cursors are no longer read. What the portal shows about the account's subscription is kept instead.
ALTER TABLE "accounts" DROP COLUMN IF EXISTS "billing_event_created";--> statement-breakpoint
ALTER TABLE "accounts" DROP COLUMN IF EXISTS "payment_event_created";--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "subscription_cancel_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "payment_action_invoice_id" text;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "billing_synced_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "accounts_past_due_since_idx" ON "accounts" ("past_due_since") WHERE "past_due_since" IS NOT NULL;
