CREATE TABLE IF NOT EXISTS "usage_spool" (
	"batch_id" text PRIMARY KEY NOT NULL,
	"payload" text NOT NULL,
	"sealed_at" timestamp with time zone NOT NULL,
	"spooled_at" timestamp with time zone DEFAULT now() NOT NULL
);
