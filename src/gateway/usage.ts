import type { Redis } from "@upstash/redis/cloudflare";
import type { UsageOutcome } from "../db/schema/usage-daily";
import type { Logger } from "../lib/log";
import { CommandBatch } from "../store/command-batch";
import { redisKeys } from "../store/layout";

/**
 * Usage counters, last-used times and quota corrections, kept in isolate memory and written to Redis by riding
 * along in the NEXT request's rate-limit round trip, so metering costs no round trip of its own at steady
 * state. When no request follows within FLUSH_DELAY_MS, the request that produced them flushes them itself
 * (after its response, in waitUntil). A failed write puts them back, so nothing is lost to a Redis hiccup.
 */
const FLUSH_DELAY_MS = 200;
/**
 * After a refusal: longer than a blocked key's re-check interval (blocks.ts), so while a client keeps
 * hammering a blocked key, its counts ride the re-checks' batches and the timer adds no round trip.
 */
export const REFUSAL_FLUSH_DELAY_MS = 1500;
/**
 * How long one request's waitUntil may keep waiting for traffic to pause before it flushes anyway: well
 * under the 30 s the runtime grants work after a response, and under steady traffic one flush per this long.
 */
const MAX_FLUSH_HOLD_MS = 10_000;
const USAGE_RETENTION_SECONDS = 40 * 24 * 60 * 60;

const pendingCounts = new Map<string, number>();
const pendingLastUsed = new Map<string, number>();
/**
 * Corrections to monthly quota counters, by quota key: -1 for a unit counted for a request the rate limiter
 * then refused, +1 for a request admitted while Redis could not count it (fail-open). `expireAtMs` is the
 * counter's expiry (as the quota script sets it), in case a correction is the first write of its month.
 */
const pendingQuota = new Map<string, { delta: number; expireAtMs: number }>();

function correctQuota(quotaKey: string, delta: number, expireAtMs: number): void {
  const current = pendingQuota.get(quotaKey);
  pendingQuota.set(quotaKey, { delta: (current?.delta ?? 0) + delta, expireAtMs });
}
/** How many times pending writes left with a batch: a change means requests are carrying them. */
let drains = 0;
const expirySetForDay = new Set<string>();
/** A request has a flush scheduled: later requests' counts will go with it (or ride a batch before). */
let flushDue = false;

const SEPARATOR = "\n";

export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** Counts one request of `keyId` with its outcome. */
export function recordUsage(keyId: string, accountId: string, outcome: UsageOutcome, now: number): void {
  const slot = [utcDay(now), `${keyId}|${accountId}|${outcome}`].join(SEPARATOR);
  pendingCounts.set(slot, (pendingCounts.get(slot) ?? 0) + 1);
  if (outcome !== "auth") pendingLastUsed.set(keyId, Math.max(now, pendingLastUsed.get(keyId) ?? 0));
}

/**
 * Gives back the quota unit the quota script counted for a request the rate limiter refused, in a later
 * round trip. Until then the quota is one unit stricter, never looser.
 */
export function deferQuotaRefund(quotaKey: string, expireAtMs: number): void {
  correctQuota(quotaKey, -1, expireAtMs);
}

/**
 * Counts a request admitted without Redis (fail-open) against its monthly quota once Redis answers again,
 * so an outage does not hand out quota for free.
 */
export function deferQuotaCharge(quotaKey: string, expireAtMs: number): void {
  correctQuota(quotaKey, 1, expireAtMs);
}

export function hasPendingUsage(): boolean {
  return pendingCounts.size > 0 || pendingLastUsed.size > 0 || pendingQuota.size > 0;
}

/**
 * Moves everything pending into `batch`. Returns a function that puts it back, to call when the batch
 * fails.
 */
export function drainUsageInto(batch: CommandBatch): () => void {
  if (!hasPendingUsage()) return () => {};
  const counts = new Map(pendingCounts);
  const lastUsed = new Map(pendingLastUsed);
  const quota = new Map(pendingQuota);
  pendingCounts.clear();
  pendingLastUsed.clear();
  pendingQuota.clear();
  drains++;
  const byDay = new Map<string, Record<string, number>>();
  for (const [slot, count] of counts) {
    const [day, field] = slot.split(SEPARATOR) as [string, string];
    const fields = byDay.get(day) ?? {};
    fields[field] = count;
    byDay.set(day, fields);
  }
  for (const [day, fields] of byDay) {
    const key = redisKeys.usageDay(day);
    for (const [field, count] of Object.entries(fields)) {
      void batch.add((p) => p.hincrby(key, field, count)).catch(() => {});
    }
    if (!expirySetForDay.has(day)) {
      expirySetForDay.add(day);
      void batch.add((p) => p.expire(key, USAGE_RETENTION_SECONDS)).catch(() => expirySetForDay.delete(day));
    }
  }
  if (lastUsed.size > 0) {
    void batch.add((p) => p.hset(redisKeys.lastUsed, Object.fromEntries(lastUsed))).catch(() => {});
  }
  for (const [quotaKey, { delta, expireAtMs }] of quota) {
    if (delta === 0) continue;
    void batch.add((p) => p.incrby(quotaKey, delta)).catch(() => {});
    void batch.add((p) => p.pexpireat(quotaKey, expireAtMs)).catch(() => {});
  }
  return () => {
    for (const [quotaKey, { delta, expireAtMs }] of quota) correctQuota(quotaKey, delta, expireAtMs);
    for (const [slot, count] of counts) pendingCounts.set(slot, (pendingCounts.get(slot) ?? 0) + count);
    for (const [keyId, at] of lastUsed)
      pendingLastUsed.set(keyId, Math.max(at, pendingLastUsed.get(keyId) ?? 0));
  };
}

/**
 * Makes sure pending usage reaches Redis soon even if no other request comes: returns the promise to hand
 * to ctx.waitUntil. Each request gets its OWN promise (Workers cannot settle a promise of one request from
 * another): the first to arrive waits and flushes; the others, seeing a flush already due, add nothing.
 */
export function scheduleUsageFlush(redis: Redis, log: Logger, delayMs = FLUSH_DELAY_MS): Promise<void> {
  if (flushDue) return Promise.resolve();
  flushDue = true;
  return flushWhenQuiet(redis, delayMs)
    .catch((error) => log.warn("usage flush failed; counts kept for the next try", { error }))
    .finally(() => {
      flushDue = false;
    });
}

/**
 * Waits `delayMs`, then writes what is pending, unless a request's batch carried pending writes in the
 * meantime: traffic is flowing and the next batch will carry the rest, so it waits another period instead.
 * Under steady traffic the timer thus costs no round trip (at most one per MAX_FLUSH_HOLD_MS); it flushes
 * once traffic pauses. Counted in batches, not read off the clock, which Workers freeze during execution.
 */
async function flushWhenQuiet(redis: Redis, delayMs: number): Promise<void> {
  for (let waited = 0; ; waited += delayMs) {
    const drainsBefore = drains;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (!hasPendingUsage()) return;
    if (drains === drainsBefore || waited + delayMs >= MAX_FLUSH_HOLD_MS) break;
  }
  await flushUsage(redis);
}

/** Writes everything pending now, in one round trip (none when a later request already carried it). */
export async function flushUsage(redis: Redis): Promise<void> {
  if (!hasPendingUsage()) return;
  const batch = new CommandBatch(redis);
  const restore = drainUsageInto(batch);
  try {
    await batch.execute();
  } catch (error) {
    restore();
    throw error;
  }
}
