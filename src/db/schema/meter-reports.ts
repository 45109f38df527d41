import { bigint, date, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Usage already reported to Stripe's meter, per account and UTC day: the cursor that makes each request
 * billed at most once. `pendingCount` freezes an attempt before it is sent, so a retry after a lost answer
 * resends the very same meter event (same identifier, which Stripe deduplicates) instead of a bigger one.
 */
export const meterReports = pgTable(
  "meter_reports",
  {
    accountId: text("account_id").notNull(),
    day: date("day", { mode: "string" }).notNull(),
    /** `ok` requests of that day Stripe has accepted. */
    reportedCount: bigint("reported_count", { mode: "number" }).notNull().default(0),
    /** The count an attempt in flight reports up to; null when none is. */
    pendingCount: bigint("pending_count", { mode: "number" }),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.accountId, table.day] })],
);

export type MeterReport = typeof meterReports.$inferSelect;
