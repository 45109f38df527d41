import { bigserial, index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

export const auditActorTypes = ["admin", "portal", "stripe", "system"] as const;
export type AuditActorType = (typeof auditActorTypes)[number];

export const auditActions = [
  "account.created",
  "account.tier_changed",
  "key.created",
  "key.rotated",
  "key.revoked",
  "key.expired",
  // Portal accounts (src/portal/services).
  "account.invited",
  "account.email_verified",
  "account.email_changed",
  "account.password_reset",
  "account.password_changed",
  // Billing: the gateway added a plan's metered price a subscription lacked (src/billing/webhooks/metered-repair.ts).
  "subscription.metered_price_added",
] as const;
export type AuditAction = (typeof auditActions)[number];

/** Who did what to which account or key, and when: written in the same transaction as the change. */
export const auditEvents = pgTable(
  "audit_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    accountId: text("account_id").notNull(),
    actorType: text("actor_type", { enum: auditActorTypes }).notNull(),
    /** The portal user, the Stripe event id, or the cron job's name; null for the admin token. */
    actorId: text("actor_id"),
    action: text("action", { enum: auditActions }).notNull(),
    /** The key or account acted on. */
    targetId: text("target_id").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("audit_events_account_created_idx").on(table.accountId, table.createdAt)],
);

export type AuditEvent = typeof auditEvents.$inferSelect;
