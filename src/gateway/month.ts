/** The UTC calendar month containing `now`: quotas reset when it ends. */
export function monthWindow(now: number): { id: string; startMs: number; endMs: number; expireAtMs: number } {
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
