import { type AnyPgColumn, index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { accounts } from "./accounts";

/** `expired`: retired by the scheduled job once its expiry (or rotation overlap) passed. */
export const keyStatuses = ["active", "revoked", "expired"] as const;
export type KeyStatus = (typeof keyStatuses)[number];

/**
 * An API key. Only the SHA-256 of the key is stored (hex); `start` is the readable beginning shown in lists
 * so a developer can tell keys apart. A rotated key points at its successor and expires at the overlap's end.
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull().default(""),
    hash: text("hash").notNull().unique(),
    start: text("start").notNull(),
    status: text("status", { enum: keyStatuses }).notNull().default("active"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    rotatedToId: text("rotated_to_id").references((): AnyPgColumn => apiKeys.id, { onDelete: "set null" }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index("api_keys_account_idx").on(table.accountId),
    index("api_keys_expires_idx").on(table.expiresAt),
  ],
);

export type ApiKey = typeof apiKeys.$inferSelect;
export type NewApiKey = typeof apiKeys.$inferInsert;
