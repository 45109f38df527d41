import { bigint, date, index, pgTable, primaryKey, text } from "drizzle-orm/pg-core";

export const usageOutcomes = ["ok", "rate_limited", "quota", "auth"] as const;
export type UsageOutcome = (typeof usageOutcomes)[number];

/**
 * Requests per key, day (UTC), outcome and tier, rolled up from Redis counters. Rollups set absolute counts
 * (not increments), so running one twice cannot double count. `tier` is the account's tier the requests were
 * decided under ("" for counts made before usage carried its tier): metering bills by it, and readers that
 * do not care about tiers sum over it.
 */
export const usageDaily = pgTable(
  "usage_daily",
  {
    keyId: text("key_id").notNull(),
    accountId: text("account_id").notNull(),
    day: date("day", { mode: "string" }).notNull(),
    outcome: text("outcome", { enum: usageOutcomes }).notNull(),
    tier: text("tier").notNull().default(""),
    count: bigint("count", { mode: "number" }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.keyId, table.day, table.outcome, table.tier] }),
    index("usage_daily_account_day_idx").on(table.accountId, table.day),
  ],
);

export type UsageDaily = typeof usageDaily.$inferSelect;
