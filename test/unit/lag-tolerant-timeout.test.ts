import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lagTolerantTimeout } from "../../src/lib/lag-tolerant-timeout";

/**
 * The isolate's clock as its timers see it: `Date.now()` is the timers' time plus the time the isolate spent
 * busy, during which no timer could fire. Fake timers alone cannot model that lag (moving their system time
 * moves the timers along with it).
 */
let timersMs = 0;
let lagMs = 0;

/** Time passes with the isolate free: timers fire when due, each seeing the clock at that moment. */
function advance(ms: number): void {
  for (let i = 0; i < ms; i++) {
    timersMs += 1;
    vi.advanceTimersByTime(1);
  }
}

/** The isolate runs its own work for `ms` without reaching its event loop: the clock moves, no timer fires. */
function busyFor(ms: number): void {
  lagMs += ms;
}

describe("lagTolerantTimeout: a deadline that counts only time the isolate was free", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    timersMs = 0;
    lagMs = 0;
    vi.spyOn(Date, "now").mockImplementation(() => 1_000_000 + timersMs + lagMs);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("aborts after the timeout on an idle isolate, with the TimeoutError AbortSignal.timeout gives", () => {
    const signal = lagTolerantTimeout(300, 900);
    advance(299);
    expect(signal.aborted).toBe(false);
    advance(1);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe("TimeoutError");
  });

  it("moves the deadline on by the time a busy isolate lost, so a reply queued meanwhile is read first", () => {
    const signal = lagTolerantTimeout(300, 900);
    advance(100);
    busyFor(250);
    // Due at 300 ms, the timer fires at 550 ms, 250 ms late: the deadline moves to 800 ms.
    advance(200);
    expect(signal.aborted).toBe(false);
    advance(249);
    expect(signal.aborted).toBe(false);
    advance(1);
    expect(signal.aborted).toBe(true);
    expect(Date.now() - 1_000_000).toBe(800);
  });

  it("ignores the few ms a timer is late on a healthy isolate", () => {
    const signal = lagTolerantTimeout(300, 900);
    advance(290);
    busyFor(20);
    advance(10);
    expect(signal.aborted).toBe(true);
    expect(Date.now() - 1_000_000).toBe(320);
  });

  it("aborts at the first check past the cap however busy the isolate stays", () => {
    const signal = lagTolerantTimeout(300, 900);
    advance(200);
    // Busy half the time, so each check of the deadline finds its timer 100 ms late.
    const checkedAt: number[] = [];
    while (!signal.aborted && checkedAt.length < 50) {
      busyFor(100);
      advance(100);
      checkedAt.push(Date.now() - 1_000_000);
    }
    expect(signal.aborted).toBe(true);
    // Checks at 400, 600 and 800 ms each find the timer late and move the deadline on; 1000 ms is past the cap.
    expect(checkedAt).toEqual([400, 600, 800, 1000]);
  });

  it("never aborts before the timeout, even when the cap is set below it", () => {
    const signal = lagTolerantTimeout(300, 100);
    advance(299);
    expect(signal.aborted).toBe(false);
    advance(1);
    expect(signal.aborted).toBe(true);
  });
});
