// Postgres drivers' and the runtime's words for a store that cannot be reached, and Redis's own for one that
// cannot answer yet: "Redis is unavailable" (a REST front without its Redis) and LOADING (a Redis restarting
// reads its append-only file before it serves).
const OUTAGE =
  /network connection lost|connection terminated|econnrefused|etimedout|timeout exceeded when trying to connect|websocket|socket hang up|too many clients|redis is unavailable/i;
/** Redis's error code while it loads its data after a restart (case matters: a code, not a word). */
const REDIS_LOADING = /\bLOADING\b/;

/**
 * A Postgres or Redis that cannot be reached (rather than a bug): worth a 503 with Retry-After, so clients
 * and Stripe retry. Drivers wrap the cause (drizzle's "Failed query"), so the whole cause chain is read.
 */
export function isDependencyOutage(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (
      current.name === "TimeoutError" ||
      OUTAGE.test(current.message) ||
      REDIS_LOADING.test(current.message)
    ) {
      return true;
    }
    current = current.cause;
  }
  return false;
}
