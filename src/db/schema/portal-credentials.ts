import { sql } from "drizzle-orm";
import { pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { accounts } from "./accounts";

/**
 * A developer's portal password, one per account. `passwordHash` is a self-describing PHC-style string
 * (`$pbkdf2-sha256$i=<iterations>$<salt>$<hash>`), so the algorithm or its cost can be raised later and old
 * hashes upgraded at the next successful login. Kept apart from `accounts`: accounts made by the admin API
 * have no password, and nothing on the hot path ever reads this table.
 */
export const portalCredentials = pgTable("portal_credentials", {
  accountId: text("account_id")
    .primaryKey()
    .references(() => accounts.id, { onDelete: "cascade" }),
  passwordHash: text("password_hash").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true })
    .notNull()
    .defaultNow()
    .$onUpdate(() => sql`now()`),
});

export type PortalCredential = typeof portalCredentials.$inferSelect;
