import type { Account } from "../db/schema/accounts";
import type { ApiKey } from "../db/schema/api-keys";

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

/** A key as lists show it: status says "expired" once its expiry (or rotation overlap) has passed. */
export function presentKey(key: ApiKey, now = Date.now()) {
  const expired = key.status === "active" && key.expiresAt !== null && key.expiresAt.getTime() <= now;
  return {
    id: key.id,
    accountId: key.accountId,
    name: key.name,
    start: key.start,
    status: expired ? ("expired" as const) : key.status,
    createdAt: key.createdAt.toISOString(),
    expiresAt: iso(key.expiresAt),
    revokedAt: iso(key.revokedAt),
    lastUsedAt: iso(key.lastUsedAt),
  };
}
