import { Redis } from "ioredis";
import { redisKeys } from "../../../src/store/layout.ts";
import { call } from "./client.ts";
import { env } from "./environment.ts";

/** What the product counted for an account: what the customer is billed and limited by. */
export interface Counted {
  /** `ok` requests, summed over the days the admin usage API returns (Postgres rollup merged with live Redis). */
  usageOk: number;
  /** The account's monthly quota counter in Redis (gw:quota:{accountId}:{YYYY-MM}, UTC). */
  quota: number;
}

/** A client of the run's Redis (reads only) that rides out a Redis restart instead of failing the test. */
export function redisReader(): Redis {
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 20, lazyConnect: true });
  // Redis is killed and restarted on purpose: reconnecting is expected, not worth a line each time.
  redis.on("error", () => {});
  return redis;
}

/**
 * The account's counts now, read as an operator would: the admin usage API of `base` (its default range, the
 * last 30 days) and the monthly quota counter of the current UTC month in Redis.
 */
export async function countedFor(redis: Redis, accountId: string, base = env.gateways.a): Promise<Counted> {
  const path = `/admin/v1/accounts/${accountId}/usage`;
  let answer = await call(base, path, { asAdmin: true, area: "usage" });
  // Right after Redis comes back the gateway may still answer 503 for a moment (the bridge reconnects within
  // a second): an operator would retry after Retry-After, and so does this, for a while.
  for (const deadline = Date.now() + 30_000; answer.status === 503 && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    answer = await call(base, path, { asAdmin: true, area: "usage" });
  }
  if (answer.status !== 200) throw new Error(`usage of ${accountId}: ${answer.status} ${answer.text}`);
  const series = JSON.parse(answer.text) as { total: Array<{ ok: number }> };
  const usageOk = series.total.reduce((sum, day) => sum + day.ok, 0);
  const month = new Date().toISOString().slice(0, 7);
  const quota = Number((await redis.get(redisKeys.quota(accountId, month))) ?? 0);
  return { usageOk, quota };
}

/**
 * Runs the gateway's scheduled handler now, as its Cron Trigger would (src/jobs/scheduled.ts: the usage
 * rollup and whatever else the cron does), through Miniflare's /cdn-cgi/handler/scheduled. Never throws: a
 * gateway that is restarting is tried again by the caller's next round.
 */
export async function runScheduled(base: string): Promise<boolean> {
  try {
    const response = await fetch(
      `${base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("*/5 * * * *")}`,
      {
        signal: AbortSignal.timeout(60_000),
      },
    );
    await response.text();
    return response.ok;
  } catch {
    return false;
  }
}

export interface Settled {
  counts: Record<string, Counted>;
  /** From the call until the counts last changed (ms). */
  lastChangeMs: number;
  /** From the call until every count first equalled `want` (ms), when it did. */
  reachedMs?: number;
  /** Scheduled runs triggered while waiting. */
  scheduledRuns: number;
}

/**
 * Waits for counts to stop moving after faults: counts held in isolates flush after responses, and a
 * durable path is replayed by the scheduled job, which this triggers on `scheduledOn` every few seconds.
 * Done once the counts have not changed for `quietMs` with at least one scheduled run in that time, and
 * (with `want`) equal it; otherwise gives up after `maxMs` and returns what it last read. The caller asserts.
 */
export async function settledCounts(
  redis: Redis,
  accountIds: string[],
  opts: {
    scheduledOn: string[];
    want?: (accountId: string) => Counted;
    maxMs?: number;
    quietMs?: number;
  },
): Promise<Settled> {
  const { scheduledOn, want, maxMs = 60_000, quietMs = 5_000 } = opts;
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  const read = async () => {
    const counts: Record<string, Counted> = {};
    for (const id of accountIds) counts[id] = await countedFor(redis, id);
    return counts;
  };
  const matches = (counts: Record<string, Counted>) =>
    !want ||
    accountIds.every((id) => {
      const [got, wanted] = [counts[id], want(id)];
      return got?.usageOk === wanted.usageOk && got.quota === wanted.quota;
    });
  let counts = await read();
  let lastChangeMs = 0;
  let reachedMs = matches(counts) && want ? 0 : undefined;
  let scheduledRuns = 0;
  let lastScheduledAt = -Infinity;
  let scheduledSinceChange = false;
  while (elapsed() < maxMs) {
    if (elapsed() - lastScheduledAt >= 4_000) {
      lastScheduledAt = elapsed();
      for (const base of scheduledOn) if (await runScheduled(base)) scheduledRuns += 1;
      scheduledSinceChange = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const next = await read();
    if (JSON.stringify(next) !== JSON.stringify(counts)) {
      counts = next;
      lastChangeMs = elapsed();
      scheduledSinceChange = false;
      reachedMs = matches(counts) && want ? elapsed() : undefined;
      continue;
    }
    if (scheduledSinceChange && elapsed() - lastChangeMs >= quietMs && matches(counts)) break;
  }
  return { counts, lastChangeMs, reachedMs, scheduledRuns };
}

/** Asks the bridge (as the worker does: Upstash REST) to PING until Redis answers through it; false past `maxMs`. */
export async function bridgeAnswers(maxMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(env.bridge.url, {
        method: "POST",
        headers: { authorization: `Bearer ${env.bridge.token}`, "content-type": "application/json" },
        body: JSON.stringify(["PING"]),
        signal: AbortSignal.timeout(2_000),
      });
      const body = (await response.json()) as { result?: unknown };
      if (response.ok && body.result === "PONG") return true;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
