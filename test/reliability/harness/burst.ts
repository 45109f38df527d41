import { call } from "./client.ts";
import { header, type Observed } from "./observed.ts";

/** How a burst's answers split: admitted by the limiter, admitted without it (fail-open), refused... */
export interface BurstTally {
  /** 200 with a RateLimit header that has the month's quota: Redis's limiter counted and admitted it. */
  admitted: number;
  /**
   * 200 whose RateLimit header has the window only: the limit check failed and RATE_LIMIT_FAIL_MODE=open
   * applied the key's rate limit in the isolate (src/gateway/fallback-limiter.ts).
   */
  admittedLocally: number;
  /** 200 without a RateLimit header: admitted with no limit applied at all. */
  admittedFailOpen: number;
  /** 502/504: past the limits (checked or not), then the origin failed or was too slow under the burst. */
  originErrors: number;
  rateLimited: number;
  quotaExceeded: number;
  /** Anything else, by status. */
  other: Record<number, number>;
  p50Ms: number;
  maxMs: number;
}

/** Requests the limits did not stop, whatever happened after. */
export function passedLimits(t: BurstTally): number {
  return t.admitted + t.admittedLocally + t.admittedFailOpen + t.originErrors;
}

export function describeTally(t: BurstTally): string {
  const other = Object.entries(t.other).map(([status, n]) => `${n} x ${status}`);
  return [
    `${t.admitted} admitted`,
    `${t.admittedLocally} admitted by the isolate's own count (fail-open)`,
    `${t.admittedFailOpen} admitted unchecked`,
    `${t.originErrors} past the limits then 502/504`,
    `${t.rateLimited} x 429 rate-limited`,
    `${t.quotaExceeded} x 429 quota`,
    ...other,
    `p50 ${t.p50Ms} ms, max ${t.maxMs} ms`,
  ].join(", ");
}

/** Sends every request at the same moment (no pacing) and tallies the answers. */
export async function burst(requests: Array<{ base: string; key: string }>, path = "/v1/hello") {
  const answers = await Promise.all(
    requests.map(({ base, key }) =>
      call(base, path, { apiKey: key, area: "concurrency", timeoutMs: 30_000 }),
    ),
  );
  return tally(answers);
}

export function tally(answers: Observed[]): BurstTally {
  const result: BurstTally = {
    admitted: 0,
    admittedLocally: 0,
    admittedFailOpen: 0,
    originErrors: 0,
    rateLimited: 0,
    quotaExceeded: 0,
    other: {},
    p50Ms: 0,
    maxMs: 0,
  };
  for (const answer of answers) {
    if (answer.status === 200) {
      const state = header(answer, "ratelimit");
      if (state?.includes('"month"')) result.admitted += 1;
      else if (state) result.admittedLocally += 1;
      else result.admittedFailOpen += 1;
    } else if (answer.status === 502 || answer.status === 504) {
      result.originErrors += 1;
    } else if (answer.status === 429 && answer.text.includes("/problems/quota-exceeded")) {
      result.quotaExceeded += 1;
    } else if (answer.status === 429) {
      result.rateLimited += 1;
    } else {
      result.other[answer.status] = (result.other[answer.status] ?? 0) + 1;
    }
  }
  const times = answers.map((answer) => answer.elapsedMs).sort((a, b) => a - b);
  result.p50Ms = Math.round(times[Math.floor(times.length / 2)] ?? 0);
  result.maxMs = Math.round(times.at(-1) ?? 0);
  return result;
}

/**
 * Waits, if needed, until the current fixed window (of @upstash/ratelimit's sliding window) has at least
 * `needMs` left, so requests meant to share a window are not split across two (which would weigh earlier
 * requests by the sliding formula and blur "exactly N").
 */
export async function withinOneWindow(windowSeconds: number, needMs: number): Promise<void> {
  const windowMs = windowSeconds * 1000;
  const left = windowMs - (Date.now() % windowMs);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

/** Interleaves requests over gateways: 0 -> a, 1 -> b, 2 -> a... */
export function spread(count: number, bases: string[], key: (index: number) => string) {
  return Array.from({ length: count }, (_, index) => ({
    base: bases[index % bases.length] as string,
    key: key(index),
  }));
}
