/**
 * Milliseconds until @upstash/ratelimit's sliding window would admit one more request, assuming no other
 * traffic. The window counts floor((1 - elapsed/W) * previous) + current, so:
 * - while current < limit, a request fits once the previous window's weight has decayed enough, still in
 *   this window: elapsed/W > 1 - (limit - current) / previous;
 * - otherwise it fits in the next window, where this window's count becomes the decaying one:
 *   elapsed'/W > 1 - limit / current.
 * This is what makes Retry-After honest: often well short of the full window.
 */
export function slidingWindowRetryMs(input: {
  now: number;
  windowMs: number;
  limit: number;
  current: number;
  previous: number;
}): number {
  const { now, windowMs, limit, current, previous } = input;
  const windowStart = Math.floor(now / windowMs) * windowMs;
  let admitAt: number;
  // In whole numbers: with floats, 60000 * (1 - 50/60) is 9999.999..., one millisecond early, and a client
  // retrying at the whole second Retry-After names was refused again (test/unit/retry-after.test.ts).
  if (current < limit) {
    const decayedMs = previous > 0 ? Math.floor((windowMs * (previous - (limit - current))) / previous) : 0;
    admitAt = windowStart + decayedMs + 1;
  } else {
    admitAt = windowStart + windowMs + Math.floor((windowMs * (current - limit)) / current) + 1;
  }
  return Math.max(1, admitAt - now);
}
