-- Usage carries the tier it was made in (issue 14): metering bills the requests made while a metered plan
-- applied, whatever the account's tier is when the job runs. Rows rolled up before keep tier '' (unknown):
-- the Redis day hashes still hold their 3-part fields, which the rollup maps to '' too, so its greatest()
-- upsert lands on these same rows and nothing is counted twice.
ALTER TABLE "usage_daily" ADD COLUMN "tier" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_daily" DROP CONSTRAINT "usage_daily_key_id_day_outcome_pk";--> statement-breakpoint
ALTER TABLE "usage_daily" ADD CONSTRAINT "usage_daily_key_id_day_outcome_tier_pk" PRIMARY KEY("key_id","day","outcome","tier");
