import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { slidingWindowRetryMs } from "../../src/gateway/retry-after";

/**
 * @upstash/ratelimit's sliding window count at `t`, from the counts of the window `t` is in and the one
 * before: floor((1 - elapsed/W) * previous) + current. The model the Retry-After formula inverts.
 */
function countAt(t: number, windowMs: number, counts: Map<number, number>): number {
  const index = Math.floor(t / windowMs);
  const remainingMs = windowMs - (t % windowMs);
  // In whole numbers, so the model is the rule itself rather than a second floating-point rounding of it.
  return Math.floor((remainingMs * (counts.get(index - 1) ?? 0)) / windowMs) + (counts.get(index) ?? 0);
}

/** The same count as @upstash/ratelimit computes it, in floating point: it must agree at the admission. */
function upstashCountAt(t: number, windowMs: number, counts: Map<number, number>): number {
  const index = Math.floor(t / windowMs);
  const percentageInCurrent = (t % windowMs) / windowMs;
  return Math.floor((1 - percentageInCurrent) * (counts.get(index - 1) ?? 0)) + (counts.get(index) ?? 0);
}

describe("Retry-After of the sliding window (slidingWindowRetryMs)", () => {
  it("waits, within this window, for the previous window's weight to decay enough", () => {
    // 4 this window, 12 the last, limit 10: admitted once floor((1 - e) * 12) + 4 < 10, i.e. e > 0.5.
    expect(slidingWindowRetryMs({ now: 61_000, windowMs: 60_000, limit: 10, current: 4, previous: 12 })).toBe(
      29_001,
    );
  });

  it("waits into the next window when this one alone is full", () => {
    expect(slidingWindowRetryMs({ now: 61_000, windowMs: 60_000, limit: 10, current: 10, previous: 0 })).toBe(
      59_001,
    );
    // 20 counted (over the limit: concurrent grants): half of them must decay in the next window.
    expect(slidingWindowRetryMs({ now: 61_000, windowMs: 60_000, limit: 10, current: 20, previous: 5 })).toBe(
      89_001,
    );
  });

  it("is never below 1 ms, even when the request would already fit", () => {
    expect(slidingWindowRetryMs({ now: 61_000, windowMs: 60_000, limit: 10, current: 1, previous: 0 })).toBe(
      1,
    );
  });

  it("is exact against the window's own count: admitted at now + Retry-After, refused a millisecond before", () => {
    // Found by this property: 60 counted against a limit of 50 was admitted 1 ms after the float formula said.
    expect(slidingWindowRetryMs({ now: 0, windowMs: 60_000, limit: 50, current: 60, previous: 0 })).toBe(
      70_001,
    );
    fc.assert(
      fc.property(
        fc.constantFrom(1000, 10_000, 60_000),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (windowMs, limit, current, previous, offset) => {
          const now = 1_700_000_000_000 + offset;
          const index = Math.floor(now / windowMs);
          const counts = new Map([
            [index, current],
            [index - 1, previous],
          ]);
          fc.pre(countAt(now, windowMs, counts) >= limit);
          const retryMs = slidingWindowRetryMs({ now, windowMs, limit, current, previous });
          expect(countAt(now + retryMs, windowMs, counts)).toBeLessThan(limit);
          expect(upstashCountAt(now + retryMs, windowMs, counts)).toBeLessThan(limit);
          if (retryMs > 1) expect(countAt(now + retryMs - 1, windowMs, counts)).toBeGreaterThanOrEqual(limit);
        },
      ),
      { seed: 20260301, numRuns: 500 },
    );
  });
});
