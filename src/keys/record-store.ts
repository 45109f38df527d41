import type { Redis } from "@upstash/redis/cloudflare";
import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { accounts } from "../db/schema/accounts";
import { apiKeys } from "../db/schema/api-keys";
import { RECORD_TTL_SECONDS, redisKeys, UNKNOWN_KEY_TTL_SECONDS } from "../store/layout";
import { announceAccountPublished, announceKeyPublished } from "./record-events";
import { type AccountRecord, type CachedKey, type KeyRecord, toAccountRecord, toKeyRecord } from "./records";

/** Postgres is the source of truth: the key (by hash) and its account, or undefined when no key matches. */
export async function loadKeyFromPostgres(
  db: Database,
  hash: string,
): Promise<{ key: KeyRecord; account: AccountRecord } | undefined> {
  const [row] = await db
    .select({
      id: apiKeys.id,
      accountId: apiKeys.accountId,
      status: apiKeys.status,
      expiresAt: apiKeys.expiresAt,
      tier: accounts.tier,
    })
    .from(apiKeys)
    .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
    .where(eq(apiKeys.hash, hash))
    .limit(1);
  if (!row) return undefined;
  return { key: toKeyRecord(row), account: toAccountRecord({ id: row.accountId, tier: row.tier }) };
}

export async function loadAccountFromPostgres(
  db: Database,
  accountId: string,
): Promise<AccountRecord | undefined> {
  const [row] = await db
    .select({ id: accounts.id, tier: accounts.tier })
    .from(accounts)
    .where(eq(accounts.id, accountId))
    .limit(1);
  return row ? toAccountRecord(row) : undefined;
}

/** Writes what every edge reads on its next request: this is how revocation and tier changes propagate. */
export async function publishKeyRecord(redis: Redis, hash: string, record: CachedKey): Promise<void> {
  const ttl = record.kind === "unknown" ? UNKNOWN_KEY_TTL_SECONDS : RECORD_TTL_SECONDS;
  await redis.set(redisKeys.apiKey(hash), record, { ex: ttl });
  announceKeyPublished(hash);
}

export async function publishAccountRecord(redis: Redis, record: AccountRecord): Promise<void> {
  await redis.set(redisKeys.account(record.id), record, { ex: RECORD_TTL_SECONDS });
  announceAccountPublished(record.id);
}
