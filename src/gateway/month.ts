export interface MonthWindow {
  id: string;
  startMs: number;
  endMs: number;
  expireAtMs: number;
}

/** The month of the last call: every request asks, and all but the first of a month get it back as is. */
let last: Readonly<MonthWindow> | undefined;

/** The UTC calendar month containing `now`: quotas reset when it ends. */
export function monthWindow(now: number): Readonly<MonthWindow> {
  if (last && now >= last.startMs && now < last.endMs) return last;
  last = Object.freeze(computeMonthWindow(now));
  return last;
}

function computeMonthWindow(now: number): MonthWindow {
  const date = new Date(now);
  const startMs = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  const endMs = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
  // Kept a week past the month so late rollups and support questions can still read it.
  return {
    id: new Date(startMs).toISOString().slice(0, 7),
    startMs,
    endMs,
    expireAtMs: endMs + 7 * 86_400_000,
  };
}
