import type { LazyDatabase } from "../db/lazy";
import { loadKeyFromPostgres } from "../keys/record-store";
import type { AccountRecord, CachedKey } from "../keys/records";
import { TtlCache } from "../lib/ttl-cache";

/** A key as this isolate last heard of it, and its account (absent when the key matches nothing). */
export interface KnownKey {
  key: CachedKey;
  account?: AccountRecord;
}

/**
 * Isolate memory of key and account records, for what must be decided before or without a round trip:
 * an unknown key (refused with no network call), a key already revoked or expired, the ids a remembered
 * refusal is held under, and the plan the fail-open fallback applies. Every lease call re-reads both
 * records from Redis and refreshes this, so nothing here outlives a lease's second by much where it matters.
 */
export class RecordCache {
  private readonly keys = new TtlCache<string, CachedKey>(10_000, 60_000);
  private readonly accounts = new TtlCache<string, AccountRecord>(10_000, 60_000);

  get(hash: string, now: number): KnownKey | undefined {
    const key = this.keys.get(hash, now);
    if (!key) return undefined;
    return { key, account: key.kind === "key" ? this.accounts.get(key.accountId, now) : undefined };
  }

  forgetKey(hash: string): void {
    this.keys.delete(hash);
  }

  forgetAccount(accountId: string): void {
    this.accounts.delete(accountId);
  }

  remember(hash: string, key: CachedKey, account?: AccountRecord | null): void {
    this.keys.set(hash, key);
    if (account) this.accounts.set(account.id, account);
  }
}

/**
 * Postgres, the source of truth, for a key Redis does not hold (evicted, past its TTL, or Redis is down).
 * Resolves the key (`{kind: "unknown"}` when no key matches) and its account, or undefined when Postgres
 * fails too. The caller publishes what it found to Redis.
 */
export async function loadFromPostgres(
  hash: string,
  deps: { db: LazyDatabase },
): Promise<KnownKey | undefined> {
  try {
    const found = await loadKeyFromPostgres(deps.db.get(), hash);
    return found ? { key: found.key, account: found.account } : { key: { kind: "unknown" } };
  } catch {
    return undefined;
  }
}
