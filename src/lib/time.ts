/** One UTC day in milliseconds (86,400,000: UTC has no daylight saving; leap seconds are not counted). */
export const DAY_MS = 86_400_000;

/** One UTC day in seconds, for TTLs and cookie Max-Age. */
export const SECONDS_PER_DAY = 86_400;

/** The UTC calendar day of `ms` (milliseconds since the Unix epoch) as ISO 8601 `YYYY-MM-DD`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
