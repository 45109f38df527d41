import { integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { accounts } from "./accounts";

/**
 * Usage alerts: one row per account, UTC month (YYYY-MM) and threshold (80, 100), claimed before the mail is
 * sent so each is sent once a month however often or concurrently the scheduled job runs. `sentAt` stays
 * null until the provider accepted the mail; the next run retries such rows.
 */
export const quotaAlerts = pgTable(
  "quota_alerts",
  {
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    month: text("month").notNull(),
    threshold: integer("threshold").notNull(),
    sentAt: timestamp("sent_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.accountId, table.month, table.threshold] })],
);

export type QuotaAlert = typeof quotaAlerts.$inferSelect;
