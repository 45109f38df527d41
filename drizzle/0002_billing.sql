CREATE TABLE "meter_reports" (
	"account_id" text NOT NULL,
	"day" date NOT NULL,
	"reported_count" bigint DEFAULT 0 NOT NULL,
	"pending_count" bigint,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "meter_reports_account_id_day_pk" PRIMARY KEY("account_id","day")
);
--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "subscribed_tier" text;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "payment_event_created" bigint;