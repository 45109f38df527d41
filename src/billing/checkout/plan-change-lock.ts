import type { Redis } from "@upstash/redis/cloudflare";
import { ApiError } from "../../lib/errors";
import { redisKeys } from "../../store/layout";

/** Longer than a change takes (a few Stripe calls and a sync): a holder that dies frees the lock by then. */
const LOCK_TTL_MS = 30_000;
/** How long a second change of the same account waits for the first before answering 409. */
const WAIT_MS = 20_000;
const POLL_MS = 150;

/** Deletes the lock only while it still holds this holder's token: a lock that expired and was taken is left. */
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0`;

/**
 * Runs `work` while holding the account's plan-change lock in Redis (SET NX PX, released by compare-and-delete,
 * the single-instance pattern of https://redis.io/docs/latest/develop/use/patterns/distributed-locks/), so
 * changes of one account run one at a time on every isolate: a double click waits for the first change and
 * then sees its result. Not a Postgres lock: a change ends with the customer sync's own transaction, and on a
 * one-connection Postgres (the embedded one `npm run dev` uses) a transaction held across it waits on itself.
 *
 * @throws ApiError `conflict` (409) when another change of the account is still running after 20 s;
 *   whatever `work` throws (the lock is released first).
 */
export async function withPlanChangeLock<T>(
  redis: Redis,
  accountId: string,
  work: () => Promise<T>,
): Promise<T> {
  const key = redisKeys.planChangeLock(accountId);
  const token = crypto.randomUUID();
  for (const deadline = Date.now() + WAIT_MS; ; ) {
    if ((await redis.set(key, token, { nx: true, px: LOCK_TTL_MS })) === "OK") break;
    if (Date.now() > deadline) {
      throw new ApiError("conflict", {
        detail: "Another plan change of this account is still running; retry in a moment.",
        headers: { "Retry-After": "5" },
      });
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await work();
  } finally {
    await redis.eval(RELEASE, [key], [token]).catch(() => {
      // Released by its TTL instead.
    });
  }
}
