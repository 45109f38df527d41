import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../config";
import { openDatabase } from "../db/client";
import type { LazyDatabase } from "../db/lazy";
import {
  loadAccountFromPostgres,
  loadKeyFromPostgres,
  publishAccountRecord,
  publishKeyRecord,
} from "../keys/record-store";
import type { AccountRecord, CachedKey } from "../keys/records";
import { ApiError } from "../lib/errors";
import type { Logger } from "../lib/log";
import { TtlCache } from "../lib/ttl-cache";
import { CommandBatch } from "../store/command-batch";
import { redisKeys } from "../store/layout";
import { evalScript, prepareScripts } from "../store/scripts";
import { RESOLVE_SCRIPT } from "./resolve-script";

/**
 * Isolate memory: which key a hash is and which tier its account has. Entries may be stale for at most
 * their TTL, but every admitted request re-reads both records from Redis inside its one rate-limit round
 * trip (see limiter.ts), so a revocation or tier change is seen on the very next request anyway.
 */
const keyCache = new TtlCache<string, CachedKey>(10_000, 60_000);
const accountCache = new TtlCache<string, AccountRecord>(10_000, 60_000);

export interface ResolvedKey {
  key: CachedKey;
  account?: AccountRecord;
  source: "memory" | "redis" | "postgres";
}

export interface ResolverDeps {
  config: Config;
  redis: Redis;
  db: LazyDatabase;
  log: Logger;
  waitUntil(promise: Promise<unknown>): void;
}

/** Memory, then Redis, then Postgres (filling Redis). Throws 503 when neither store can answer. */
export async function resolveKey(hash: string, deps: ResolverDeps): Promise<ResolvedKey> {
  const key = keyCache.get(hash);
  if (key?.kind === "unknown") return { key, source: "memory" };
  if (key) {
    const account = accountCache.get(key.accountId);
    if (account) return { key, account, source: "memory" };
  }
  const fromRedis = await readFromRedis(hash, key?.kind === "key" ? key.accountId : undefined, deps);
  if (fromRedis) return fromRedis;
  return readFromPostgres(hash, deps);
}

async function readFromRedis(hash: string, knownAccountId: string | undefined, deps: ResolverDeps) {
  try {
    const [key, account] = knownAccountId
      ? await deps.redis.mget<[CachedKey | null, AccountRecord | null]>(
          redisKeys.apiKey(hash),
          redisKeys.account(knownAccountId),
        )
      : await readKeyAndAccount(hash, deps.redis);
    if (!key) return undefined;
    if (key.kind === "unknown") {
      remember(hash, key);
      return { key, source: "redis" as const };
    }
    if (!account) return undefined;
    remember(hash, key, account);
    return { key, account, source: "redis" as const };
  } catch (error) {
    deps.log.warn("key lookup: redis failed, trying postgres", { error });
    return undefined;
  }
}

/** Both records of a key whose account is not known yet, in one round trip (RESOLVE_SCRIPT). */
async function readKeyAndAccount(hash: string, redis: Redis) {
  await prepareScripts(RESOLVE_SCRIPT);
  const batch = new CommandBatch(redis);
  const records = evalScript<[CachedKey | null, AccountRecord | null]>(
    batch,
    RESOLVE_SCRIPT,
    [redisKeys.apiKey(hash)],
    [redisKeys.account("")],
  );
  // execute() throws for the caller when the round trip fails; the reply must not go unhandled then.
  records.catch(() => {});
  await batch.execute();
  return records;
}

async function readFromPostgres(hash: string, deps: ResolverDeps): Promise<ResolvedKey> {
  let found: Awaited<ReturnType<typeof loadKeyFromPostgres>>;
  try {
    found = await loadKeyFromPostgres(deps.db.get(), hash);
  } catch (error) {
    deps.log.error("key lookup: postgres failed too; refusing (fail closed)", { error });
    throw new ApiError("unavailable", {
      detail: "The key could not be verified right now. Retry shortly.",
      headers: { "Retry-After": "5" },
    });
  }
  const key: CachedKey = found?.key ?? { kind: "unknown" };
  remember(hash, key, found?.account);
  deps.waitUntil(
    Promise.all([
      publishKeyRecord(deps.redis, hash, key),
      found ? publishAccountRecord(deps.redis, found.account) : undefined,
    ]).catch((error) => deps.log.warn("key lookup: could not fill redis", { error })),
  );
  return { key, account: found?.account, source: "postgres" };
}

/** Called with what Redis says now (on every admitted request) so memory follows revocations and tiers. */
export function remember(hash: string, key: CachedKey, account?: AccountRecord): void {
  keyCache.set(hash, key);
  if (account) accountCache.set(account.id, account);
}

/** Refills Redis from Postgres after a round trip found a record missing there (evicted or expired). */
export async function refillFromPostgres(hash: string, accountId: string, deps: ResolverDeps): Promise<void> {
  // Runs after the response, when the request's own pool is already ended: it opens and ends its own.
  const { db, close } = openDatabase(deps.config);
  try {
    const [found, account] = await Promise.all([
      loadKeyFromPostgres(db, hash),
      loadAccountFromPostgres(db, accountId),
    ]);
    await Promise.all([
      publishKeyRecord(deps.redis, hash, found?.key ?? { kind: "unknown" }),
      account ? publishAccountRecord(deps.redis, account) : undefined,
    ]);
  } finally {
    await close().catch(() => {});
  }
}
