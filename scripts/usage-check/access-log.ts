// The gateway's access log (src/middleware/access-log.ts) as evidence of what was served: one JSON object a
// line, `message: "request"`, with time, accountId, keyId, tier, outcome, status and latencyMs.
import { plans, type TierId } from "../../src/plans/plans.ts";

/** A UTC day range, both ends included, as YYYY-MM-DD. */
export interface DayRange {
  from: string;
  to: string;
}

/**
 * What the access log says an account was served in the range. A line with `sampleRate` p stands for 1/p
 * answered requests (src/middleware/access-log.ts samples them on busy isolates), so `ok` and its kin are
 * then estimates, with a variance: the Horvitz-Thompson sum of (1 - p) / p^2 over the sampled lines.
 * Refusals are always logged, so `refused` is exact.
 */
export interface Served {
  /** Requests proxied to the origin (outcome `ok`, or `ok_local` when admitted while Redis failed). */
  ok: number;
  /** Of those, the ones made under a metered tier (by the line's `tier`). */
  okMetered: number;
  /** Variances of `ok` and `okMetered` as estimates; 0 when no line was sampled. */
  okVariance: number;
  okMeteredVariance: number;
  /** Refused by the rate limit or the monthly quota (429). */
  refused: number;
  /**
   * Lines the log cannot classify: no gateway outcome and a 500, 502 or 504, which is either the gateway's
   * own error (an origin timeout: not counted as usage) or the origin's answer passed through (counted `ok`).
   */
  unsure: number;
  /** `ok` per UTC month (YYYY-MM), to compare with the monthly quota counters, and their variances. */
  okByMonth: Map<string, number>;
  okByMonthVariance: Map<string, number>;
}

export interface AccessLogSummary {
  byAccount: Map<string, Served>;
  /** Lines read in all. */
  lines: number;
  /** Request lines inside the range (and of the account, when one is asked for). */
  requests: number;
  /** Not JSON, or not a request line: other log output, skipped. */
  skipped: number;
  /** Request lines without an account: refused before the key was resolved (malformed or unknown keys). */
  anonymous: number;
  /** Request lines without a readable `time`, which cannot be placed in a day. */
  undated: number;
}

export const emptyServed = (): Served => ({
  ok: 0,
  okMetered: 0,
  okVariance: 0,
  okMeteredVariance: 0,
  refused: 0,
  unsure: 0,
  okByMonth: new Map(),
  okByMonthVariance: new Map(),
});

/** Outcomes the gateway sets (src/gateway): how usage counts each. Key refusals (`key_*`) count as `auth`. */
const OK_OUTCOMES = new Set(["ok", "ok_local"]);
const REFUSED_OUTCOMES = new Set(["rate_limited", "rate_limited_local", "quota"]);
/** Statuses the gateway answers itself after admitting a request (origin unreachable / timed out / a bug). */
const AMBIGUOUS_STATUSES = new Set([500, 502, 504]);

const isMetered = (tier: unknown) => typeof tier === "string" && plans[tier as TierId]?.metered === true;

/**
 * The request lines in `lines`: the access log's own JSON lines, or `wrangler tail --format json` records
 * (whose `logs[].message[0]` holds the line). Anything else is skipped and counted.
 */
function* requestLinesOf(line: string): Generator<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return;
  }
  if (!parsed || typeof parsed !== "object") return;
  const record = parsed as Record<string, unknown>;
  if (record.message === "request") {
    yield record;
    return;
  }
  if (!Array.isArray(record.logs)) return;
  for (const log of record.logs as Array<{ message?: unknown[] }>) {
    const first = log?.message?.[0];
    if (typeof first === "string") yield* requestLinesOf(first);
  }
}

/**
 * Sums the access log per account over `range` (days by the request's start: `time` minus `latencyMs`, the
 * moment the gateway counted it). `accountId` narrows it to one account.
 */
export async function summarizeAccessLog(
  lines: AsyncIterable<string> | Iterable<string>,
  range: DayRange,
  accountId?: string,
): Promise<AccessLogSummary> {
  const summary: AccessLogSummary = {
    byAccount: new Map(),
    lines: 0,
    requests: 0,
    skipped: 0,
    anonymous: 0,
    undated: 0,
  };
  for await (const raw of lines) {
    if (raw.trim() === "") continue;
    summary.lines += 1;
    let found = false;
    for (const entry of requestLinesOf(raw)) {
      found = true;
      count(summary, entry, range, accountId);
    }
    if (!found) summary.skipped += 1;
  }
  return summary;
}

function count(summary: AccessLogSummary, entry: Record<string, unknown>, range: DayRange, only?: string) {
  const finished = typeof entry.time === "string" ? Date.parse(entry.time) : Number.NaN;
  if (!Number.isFinite(finished)) {
    summary.undated += 1;
    return;
  }
  const latency = typeof entry.latencyMs === "number" && entry.latencyMs > 0 ? entry.latencyMs : 0;
  const day = new Date(finished - latency).toISOString().slice(0, 10);
  if (day < range.from || day > range.to) return;
  const accountId = typeof entry.accountId === "string" ? entry.accountId : undefined;
  if (only && accountId !== only) return;
  summary.requests += 1;
  if (!accountId) {
    summary.anonymous += 1;
    return;
  }
  const served = summary.byAccount.get(accountId) ?? emptyServed();
  summary.byAccount.set(accountId, served);
  const outcome = typeof entry.outcome === "string" ? entry.outcome : "";
  const status = typeof entry.status === "number" ? entry.status : 0;
  // Without a gateway outcome the line's `outcome` is derived from the status ("ok" below 400, else "error"):
  // the origin answered, and usage counted it `ok`, unless the gateway made the error itself.
  const proxied = OK_OUTCOMES.has(outcome) || (outcome === "error" && !AMBIGUOUS_STATUSES.has(status));
  if (proxied) {
    const rate =
      typeof entry.sampleRate === "number" && entry.sampleRate > 0 && entry.sampleRate <= 1
        ? entry.sampleRate
        : 1;
    const weight = 1 / rate;
    const variance = (1 - rate) / (rate * rate);
    served.ok += weight;
    served.okVariance += variance;
    if (isMetered(entry.tier)) {
      served.okMetered += weight;
      served.okMeteredVariance += variance;
    }
    const month = day.slice(0, 7);
    served.okByMonth.set(month, (served.okByMonth.get(month) ?? 0) + weight);
    served.okByMonthVariance.set(month, (served.okByMonthVariance.get(month) ?? 0) + variance);
  } else if (REFUSED_OUTCOMES.has(outcome)) {
    served.refused += 1;
  } else if (outcome === "error") {
    served.unsure += 1;
  }
}
