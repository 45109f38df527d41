import type { Account } from "../db/schema/accounts";
import type { ApiKey } from "../db/schema/api-keys";

/** What the edge needs to know about a key; cached in isolate memory and in Redis (never the key itself). */
export interface KeyRecord {
  kind: "key";
  id: string;
  accountId: string;
  status: "active" | "revoked" | "expired";
  /** Unix ms, or null for no expiry. A rotated key carries the end of its overlap here. */
  expiresAt: number | null;
}

/** Cached answer for a well-formed key that matches nothing, so repeats cost no Postgres query. */
interface UnknownKeyRecord {
  kind: "unknown";
}

export type CachedKey = KeyRecord | UnknownKeyRecord;

export interface AccountRecord {
  id: string;
  tier: string;
}

export function toKeyRecord(row: Pick<ApiKey, "id" | "accountId" | "status" | "expiresAt">): KeyRecord {
  return {
    kind: "key",
    id: row.id,
    accountId: row.accountId,
    status: row.status,
    expiresAt: row.expiresAt ? row.expiresAt.getTime() : null,
  };
}

export function toAccountRecord(row: Pick<Account, "id" | "tier">): AccountRecord {
  return { id: row.id, tier: row.tier };
}

/** Why a key is refused, or undefined when it may be used at `now`. */
export function keyRefusal(record: CachedKey, now: number): "unknown" | "revoked" | "expired" | undefined {
  if (record.kind === "unknown") return "unknown";
  if (record.status === "revoked") return "revoked";
  if (record.status === "expired") return "expired";
  if (record.expiresAt !== null && record.expiresAt <= now) return "expired";
  return undefined;
}
