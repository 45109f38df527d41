import type { Redis } from "@upstash/redis/cloudflare";
import { and, desc, eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { type Account, accounts } from "../db/schema/accounts";
import { type ApiKey, apiKeys } from "../db/schema/api-keys";
import { ApiError } from "../lib/errors";
import type { TierId } from "../plans/plans";
import { displayStart, generateApiKey, hashApiKey, type KeyEnvironment, newId } from "./key-format";
import { publishAccountRecord, publishKeyRecord } from "./record-store";
import { toAccountRecord, toKeyRecord } from "./records";

/**
 * Account and key operations shared by the admin API and the portal. Postgres is written first (the source
 * of truth), then Redis, which is what every edge reads: a change is visible on the next request anywhere.
 */
export interface KeyServiceDeps {
  db: Database;
  redis: Redis;
  keyEnvironment: KeyEnvironment;
}

const UNIQUE_VIOLATION = "23505";

function isUniqueViolation(error: unknown): boolean {
  let current: unknown = error;
  while (current && typeof current === "object") {
    if ((current as { code?: string }).code === UNIQUE_VIOLATION) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export async function createAccount(
  deps: KeyServiceDeps,
  input: { email: string; tier: TierId },
): Promise<Account> {
  try {
    const [account] = await deps.db
      .insert(accounts)
      .values({ id: newId("acct"), email: input.email.toLowerCase(), tier: input.tier })
      .returning();
    if (!account) throw new Error("insert returned no row");
    await publishAccountRecord(deps.redis, toAccountRecord(account));
    return account;
  } catch (error) {
    if (isUniqueViolation(error))
      throw new ApiError("conflict", { detail: "An account with this email exists." });
    throw error;
  }
}

export async function getAccount(deps: Pick<KeyServiceDeps, "db">, id: string): Promise<Account> {
  const [account] = await deps.db.select().from(accounts).where(eq(accounts.id, id)).limit(1);
  if (!account) throw new ApiError("not_found", { detail: "No account with this id." });
  return account;
}

export async function setAccountTier(deps: KeyServiceDeps, id: string, tier: TierId): Promise<Account> {
  const [account] = await deps.db.update(accounts).set({ tier }).where(eq(accounts.id, id)).returning();
  if (!account) throw new ApiError("not_found", { detail: "No account with this id." });
  await publishAccountRecord(deps.redis, toAccountRecord(account));
  return account;
}

export interface IssuedKey {
  /** The plaintext key: returned once, never stored. */
  key: string;
  record: ApiKey;
}

export async function createKey(
  deps: KeyServiceDeps,
  accountId: string,
  input: { name?: string; expiresAt?: Date | null; metadata?: Record<string, unknown> },
): Promise<IssuedKey> {
  await getAccount(deps, accountId);
  const key = generateApiKey(deps.keyEnvironment);
  const hash = await hashApiKey(key);
  const [record] = await deps.db
    .insert(apiKeys)
    .values({
      id: newId("key"),
      accountId,
      name: input.name ?? "",
      hash,
      start: displayStart(key),
      expiresAt: input.expiresAt ?? null,
      metadata: input.metadata ?? {},
    })
    .returning();
  if (!record) throw new Error("insert returned no row");
  // Publishing also replaces a cached "unknown" for this hash, should a client have tried the key early.
  await publishKeyRecord(deps.redis, hash, toKeyRecord(record));
  return { key, record };
}

export async function listKeys(deps: Pick<KeyServiceDeps, "db">, accountId: string): Promise<ApiKey[]> {
  await getAccount(deps, accountId);
  return deps.db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.accountId, accountId))
    .orderBy(desc(apiKeys.createdAt));
}

/** Revokes a key; the edge refuses it from the next request on. Revoking twice is harmless. */
export async function revokeKey(deps: KeyServiceDeps, keyId: string, accountId?: string): Promise<ApiKey> {
  const scope = accountId
    ? and(eq(apiKeys.id, keyId), eq(apiKeys.accountId, accountId))
    : eq(apiKeys.id, keyId);
  const [existing] = await deps.db.select().from(apiKeys).where(scope).limit(1);
  if (!existing) throw new ApiError("not_found", { detail: "No key with this id." });
  const [record] =
    existing.status === "revoked"
      ? [existing]
      : await deps.db
          .update(apiKeys)
          .set({ status: "revoked", revokedAt: new Date() })
          .where(eq(apiKeys.id, keyId))
          .returning();
  if (!record) throw new ApiError("not_found", { detail: "No key with this id." });
  await publishKeyRecord(deps.redis, record.hash, toKeyRecord(record));
  return record;
}
