import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { accounts } from "./accounts";

/** What a portal account token lets its holder do (src/portal/auth/account-tokens.ts). */
export const tokenPurposes = ["verify_email", "change_email", "reset_password", "invitation"] as const;
export type TokenPurpose = (typeof tokenPurposes)[number];

/**
 * Single-use tokens sent by email: verification, email change, password reset, invitation. Only the token's
 * SHA-256 is stored (the token itself is in the mail alone), so a copy of this table opens no account.
 * `email` is the address the link went to: the one it verifies, or the new address of an email change.
 */
export const accountTokens = pgTable(
  "account_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    purpose: text("purpose").$type<TokenPurpose>().notNull(),
    email: text("email").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    /** Set when the token is used (or superseded): it never works again. */
    usedAt: timestamp("used_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index("account_tokens_account_purpose_idx").on(table.accountId, table.purpose),
    index("account_tokens_expires_at_idx").on(table.expiresAt),
  ],
);

export type AccountToken = typeof accountTokens.$inferSelect;
