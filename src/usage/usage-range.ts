import { ApiError } from "../lib/errors";
import { DAY_MS, utcDay } from "../lib/time";

/** Usage history is kept 400 days (jobs/prune.ts), so no range may be longer. */
const MAX_USAGE_DAYS = 400;
/** The days a usage range covers when the caller names none: the last 30 UTC days, today included. */
const USAGE_DAYS = 30;

/** The last `days` UTC days up to and including the day of `now` (ms since the epoch), as YYYY-MM-DD. */
export function lastDays(now: number, days = USAGE_DAYS): { from: string; to: string } {
  return { from: utcDay(now - (days - 1) * DAY_MS), to: utcDay(now) };
}

/**
 * The usage range a caller asked for (YYYY-MM-DD, both ends included): `to` defaults to today (UTC), `from`
 * to 29 days before `to`.
 * @throws ApiError `validation_failed` (400) when `from` is after `to` or the range spans 400 days or more.
 */
export function usageRange(query: { from?: string; to?: string }, now: number): { from: string; to: string } {
  const to = query.to ?? utcDay(now);
  const from = query.from ?? lastDays(Date.parse(`${to}T00:00:00Z`)).from;
  const span = (Date.parse(to) - Date.parse(from)) / DAY_MS;
  if (span < 0 || span >= MAX_USAGE_DAYS) {
    throw new ApiError("validation_failed", {
      detail: `from must not be after to, and the range at most ${MAX_USAGE_DAYS} days.`,
    });
  }
  return { from, to };
}
