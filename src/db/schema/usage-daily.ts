import { bigint, date, index, pgTable, primaryKey, text } from "drizzle-orm/pg-core";

export const usageOutcomes = ["ok", "rate_limited", "quota", "auth"] as const;
export type UsageOutcome = (typeof usageOutcomes)[number];

/**
 * Requests per key, day (UTC) and outcome, rolled up from Redis counters. Rollups set absolute counts
 * (not increments), so running one twice cannot double count.
 */
export const usageDaily = pgTable(
  "usage_daily",
  {
    keyId: text("key_id").notNull(),
    accountId: text("account_id").notNull(),
    day: date("day", { mode: "string" }).notNull(),
    outcome: text("outcome", { enum: usageOutcomes }).notNull(),
    count: bigint("count", { mode: "number" }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.keyId, table.day, table.outcome] }),
    index("usage_daily_account_day_idx").on(table.accountId, table.day),
  ],
);

export type UsageDaily = typeof usageDaily.$inferSelect;
