export interface MonthWindow {
  /** YYYY-MM (UTC). */
  id: string;
  /** Unix ms of the month's first and the next month's first instant (UTC). */
  startMs: number;
  endMs: number;
  /** Unix ms at which the month's quota counter may expire: a week after the month, for late readers. */
  expireAtMs: number;
}

/** The UTC calendar month containing `now` (unix ms): quotas reset when it ends. */
export function monthWindow(now: number): MonthWindow {
  const date = new Date(now);
  const startMs = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  const endMs = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
  return {
    id: new Date(startMs).toISOString().slice(0, 7),
    startMs,
    endMs,
    // A week past the month (a literal: the reliability suite compiles this file, which imports nothing).
    expireAtMs: endMs + 7 * 86_400_000,
  };
}

/** The month of the last call, kept: every request asks, and all but the first of a month get it as is. */
export class MonthClock {
  private last: Readonly<MonthWindow> | undefined;

  at(now: number): Readonly<MonthWindow> {
    if (this.last && now >= this.last.startMs && now < this.last.endMs) return this.last;
    this.last = Object.freeze(monthWindow(now));
    return this.last;
  }
}
