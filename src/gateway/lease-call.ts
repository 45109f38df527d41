import type { Redis } from "@upstash/redis/cloudflare";
import type { AccountRecord, CachedKey } from "../keys/records";
import { plans } from "../plans/plans";
import { CommandBatch } from "../store/command-batch";
import { redisKeys } from "../store/layout";
import { evalScript, prepareScripts } from "../store/scripts";
import { SETTLE_SCRIPT } from "../usage/settle-script";
import { LEASE_RECORD_TTL_MS, type SealedBatch, settleIn } from "../usage/usage-batch";
import { LEASE_SCRIPT } from "./lease-script";
import type { MonthWindow } from "./month";

/** Every plan's limits in the shape LEASE_SCRIPT reads, built once: the script picks the account's tier. */
const PLAN_LIMITS = JSON.stringify(
  Object.fromEntries(
    Object.entries(plans).map(([tier, plan]) => [
      tier,
      [
        plan.rateLimit.requests,
        plan.rateLimit.windowSeconds * 1000,
        plan.monthlyQuota,
        plan.burst?.capacity ?? 0,
        plan.burst?.refillPerSecond ?? 0,
      ],
    ]),
  ),
);

export interface LeaseRequest {
  /** SHA-256 hex of the API key. */
  hash: string;
  /** Requests waiting for this answer: they are served first. */
  demand: number;
  /** Tokens wanted beyond the demand, for requests expected while the lease lives. */
  extra: number;
  /** Names the lease record in Redis. */
  leaseId: string;
  /** Unix ms, as the request sees it. */
  now: number;
  month: MonthWindow;
}

/** What Redis answered: the records as it holds them now, and the grant with the budgets left after it. */
export interface LeaseReply {
  key: CachedKey | null;
  account: AccountRecord | null;
  /** Tokens granted (requests); 0 when the key may not be used or a budget is spent. */
  granted: number;
  /** Requests the key's sliding window has left after the grant (may be < 0 after a tier was lowered). */
  windowLeft: number;
  /** Requests the account's month has left after the grant. */
  quotaLeft: number;
  /** The window's counters after the grant, for an honest Retry-After (retry-after.ts). */
  current: number;
  previous: number;
  /** Tokens in the burst bucket after the grant; undefined for tiers without one. */
  bucketTokens?: number;
}

export interface LeaseCallResult {
  reply: LeaseReply;
  /** Per batch sent along: true when Redis applied it (now or before), false when its command failed. */
  settled: boolean[];
}

/**
 * One Redis round trip: a lease for the key (LEASE_SCRIPT) and, in the same pipeline, the isolate's usage
 * batches (SETTLE_SCRIPT, each applied at most once). Throws when the round trip fails or misses its
 * deadline; the caller then applies RATE_LIMIT_FAIL_MODE and treats the batches' outcome as unknown.
 */
export async function callLease(
  redis: Redis,
  request: LeaseRequest,
  batches: readonly SealedBatch[],
): Promise<LeaseCallResult> {
  await prepareScripts(LEASE_SCRIPT, SETTLE_SCRIPT);
  const pipeline = new CommandBatch(redis);
  // Usage batches first: tokens they give back are available to the lease in the same round trip.
  const settles = batches.map((batch) => settleIn(pipeline, batch));
  const lease = evalScript<unknown[]>(
    pipeline,
    LEASE_SCRIPT,
    [redisKeys.apiKey(request.hash)],
    [
      redisKeys.account(""),
      `${redisKeys.rateLimitPrefix}:`,
      `${redisKeys.burstPrefix}:`,
      redisKeys.quotaPrefix,
      request.now,
      request.month.id,
      request.month.expireAtMs,
      PLAN_LIMITS,
      request.demand,
      request.extra,
      redisKeys.lease(request.leaseId),
      LEASE_RECORD_TTL_MS,
    ],
  );
  // When the round trip fails, execute() throws for the caller; the replies must not go unhandled then.
  for (const reply of [lease, ...settles]) reply.catch(() => {});
  await pipeline.execute();
  const settled = await Promise.all(settles.map((reply) => reply.then(() => true).catch(() => false)));
  return { reply: parseLeaseReply(await lease), settled };
}

function parseLeaseReply(raw: unknown[]): LeaseReply {
  // @upstash/redis parses JSON-looking strings itself; a record may arrive as an object or a string.
  const record = <T>(value: unknown): T | null => {
    if (value !== null && typeof value === "object") return value as T;
    if (typeof value !== "string") return null;
    try {
      return JSON.parse(value) as T;
    } catch {
      return null;
    }
  };
  const [key, account, granted, windowLeft, quotaLeft, current, previous, bucketTokens] = raw;
  return {
    key: record<CachedKey>(key),
    account: record<AccountRecord>(account),
    granted: Number(granted ?? 0),
    windowLeft: Number(windowLeft ?? 0),
    quotaLeft: Number(quotaLeft ?? 0),
    current: Number(current ?? 0),
    previous: Number(previous ?? 0),
    bucketTokens:
      bucketTokens === null || bucketTokens === false || bucketTokens === undefined
        ? undefined
        : Number(bucketTokens),
  };
}
