import type { Account } from "../db/schema/accounts";
import type { ApiKey } from "../db/schema/api-keys";
import type { AuditEvent } from "../db/schema/audit-events";

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function presentAccount(account: Account) {
  return {
    id: account.id,
    email: account.email,
    tier: account.tier,
    subscriptionStatus: account.subscriptionStatus,
    createdAt: account.createdAt.toISOString(),
    updatedAt: account.updatedAt.toISOString(),
  };
}

/** The account's Stripe subscription as the gateway last learnt it from Stripe's webhooks. */
export function presentSubscription(account: Account) {
  return {
    status: account.subscriptionStatus,
    subscribedTier: account.subscribedTier,
    stripeCustomerId: account.stripeCustomerId,
    stripeSubscriptionId: account.stripeSubscriptionId,
    pastDueSince: iso(account.pastDueSince),
    scheduledTier: account.scheduledTier,
    scheduledChangeAt: iso(account.scheduledChangeAt),
  };
}

/**
 * A key as lists show it: status says "expired" once its expiry (or rotation overlap) has passed, before
 * the scheduled job has marked it; `lastUsedAt` may be fresher from Redis than the rolled-up column.
 */
export function presentKey(key: ApiKey, options: { now?: number; lastUsedAt?: number | null } = {}) {
  const now = options.now ?? Date.now();
  const expired = key.status === "active" && key.expiresAt !== null && key.expiresAt.getTime() <= now;
  const lastUsed = Math.max(key.lastUsedAt?.getTime() ?? 0, options.lastUsedAt ?? 0);
  return {
    id: key.id,
    accountId: key.accountId,
    name: key.name,
    start: key.start,
    status: expired ? ("expired" as const) : key.status,
    rotatedToId: key.rotatedToId,
    createdAt: key.createdAt.toISOString(),
    expiresAt: iso(key.expiresAt),
    revokedAt: iso(key.revokedAt),
    lastUsedAt: lastUsed > 0 ? new Date(lastUsed).toISOString() : null,
  };
}

export function presentAuditEvent(event: AuditEvent) {
  return {
    id: event.id,
    action: event.action,
    actor: { type: event.actorType, id: event.actorId },
    targetId: event.targetId,
    data: event.data,
    createdAt: event.createdAt.toISOString(),
  };
}
