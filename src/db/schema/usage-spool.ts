import { pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Usage batches the edge could not get Redis to confirm (down, or its reply too late), kept durably until
 * the replay job (usage/spool.ts) has Redis apply them; Redis applies a batch id at most once, so a batch
 * that did land after all is not counted twice. Holds counts and ids, never a key or a secret.
 */
export const usageSpool = pgTable("usage_spool", {
  batchId: text("batch_id").primaryKey(),
  /** SETTLE_SCRIPT's batch JSON (usage/settle-script.ts). */
  payload: text("payload").notNull(),
  sealedAt: timestamp("sealed_at", { withTimezone: true }).notNull(),
  spooledAt: timestamp("spooled_at", { withTimezone: true }).notNull().defaultNow(),
});

export type UsageSpoolRow = typeof usageSpool.$inferSelect;
