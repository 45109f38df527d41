-- Every committed change the edge must see (a key's status, expiry, account or existence; an account's tier or
-- existence) leaves a row here IN ITS OWN TRANSACTION, whoever made it: the services, the billing webhook, the
-- cron, or an operator's SQL. src/keys/edge-outbox.ts publishes the committed truth to Redis and deletes the
-- rows only after Redis confirmed, so a change that Postgres committed reaches the edge whatever failed in between.
CREATE TABLE "edge_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"ref" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "edge_outbox_kind_check" CHECK ("kind" IN ('key', 'account'))
);
--> statement-breakpoint
CREATE INDEX "edge_outbox_ref_idx" ON "edge_outbox" USING btree ("kind","ref");
--> statement-breakpoint
CREATE FUNCTION "edge_outbox_key_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		INSERT INTO "edge_outbox" ("kind", "ref") VALUES ('key', OLD."hash");
		RETURN OLD;
	END IF;
	INSERT INTO "edge_outbox" ("kind", "ref") VALUES ('key', NEW."hash");
	IF TG_OP = 'UPDATE' AND OLD."hash" IS DISTINCT FROM NEW."hash" THEN
		INSERT INTO "edge_outbox" ("kind", "ref") VALUES ('key', OLD."hash");
	END IF;
	RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "api_keys_edge_outbox_insert_delete" AFTER INSERT OR DELETE ON "api_keys"
	FOR EACH ROW EXECUTE FUNCTION "edge_outbox_key_changed"();
--> statement-breakpoint
-- Only what the edge reads: last-used times, names and metadata change nothing there.
CREATE TRIGGER "api_keys_edge_outbox_update" AFTER UPDATE ON "api_keys"
	FOR EACH ROW WHEN (
		OLD."status" IS DISTINCT FROM NEW."status"
		OR OLD."expires_at" IS DISTINCT FROM NEW."expires_at"
		OR OLD."account_id" IS DISTINCT FROM NEW."account_id"
		OR OLD."hash" IS DISTINCT FROM NEW."hash"
	) EXECUTE FUNCTION "edge_outbox_key_changed"();
--> statement-breakpoint
CREATE FUNCTION "edge_outbox_account_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		INSERT INTO "edge_outbox" ("kind", "ref") VALUES ('account', OLD."id");
		RETURN OLD;
	END IF;
	INSERT INTO "edge_outbox" ("kind", "ref") VALUES ('account', NEW."id");
	RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "accounts_edge_outbox_insert_delete" AFTER INSERT OR DELETE ON "accounts"
	FOR EACH ROW EXECUTE FUNCTION "edge_outbox_account_changed"();
--> statement-breakpoint
CREATE TRIGGER "accounts_edge_outbox_update" AFTER UPDATE ON "accounts"
	FOR EACH ROW WHEN (OLD."tier" IS DISTINCT FROM NEW."tier")
	EXECUTE FUNCTION "edge_outbox_account_changed"();
