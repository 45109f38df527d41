-- A plan change Stripe will make at the end of the period (a downgrade by subscription schedule, or a
-- cancellation at period end), as read from Stripe by src/billing/customer-sync.ts: what the portal's
-- billing page and the admin API show as pending ("Changes to Basic on <date>").
ALTER TABLE "accounts" ADD COLUMN IF NOT EXISTS "scheduled_tier" text;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN IF NOT EXISTS "scheduled_change_at" timestamp with time zone;
