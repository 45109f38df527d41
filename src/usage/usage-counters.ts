import type { Redis } from "@upstash/redis/cloudflare";
// With its extension and type-only: Node-side scripts (scripts/usage-check.ts) import this file too.
import type { UsageOutcome } from "../db/schema/usage-daily.ts";

/**
 * One usage counter as the edge keeps it in Redis: a field of the day hash `gw:usage:{YYYY-MM-DD}` (see
 * formatCounterField) whose value is the absolute number of requests.
 */
interface UsageCounter {
  keyId: string;
  accountId: string;
  outcome: UsageOutcome;
  /**
   * The account's tier (plans.ts tier id) the request was decided under, so metering bills a request by the
   * plan that applied when it was made, not by the plan the account has when the job runs. "" when unknown:
   * counters written before usage carried its tier (3-part fields), or a request refused before its account
   * was known.
   */
  tier: string;
  count: number;
}

const SEPARATOR = "|";

/**
 * The day-hash field of a counter: `${keyId}|${accountId}|${outcome}|${tier}` (tier "" when unknown). The
 * edge HINCRBYs it by one per request; the rollup, the live usage series and `usage:check` parse it back
 * with parseCounterField.
 *
 * @throws Error when a part holds the separator "|" (ids, outcomes and tier ids never do: a bug upstream).
 * @example formatCounterField({ keyId: "key_1", accountId: "acct_1", outcome: "ok", tier: "pro" })
 *   // "key_1|acct_1|ok|pro"
 */
export function formatCounterField(counter: Pick<UsageCounter, "keyId" | "accountId" | "outcome" | "tier">) {
  const parts = [counter.keyId, counter.accountId, counter.outcome, counter.tier];
  if (parts.some((part) => part.includes(SEPARATOR))) {
    throw new Error(`usage counter part holds "${SEPARATOR}": ${JSON.stringify(parts)}`);
  }
  return parts.join(SEPARATOR);
}

/**
 * Parses a day-hash field and its value; undefined for anything malformed (skipped, never fatal). Reads both
 * the current 4-part field and the 3-part `${keyId}|${accountId}|${outcome}` written before usage carried its
 * tier, whose tier is "".
 */
export function parseCounterField(field: string, value: unknown): UsageCounter | undefined {
  const parts = field.split(SEPARATOR);
  if (parts.length !== 3 && parts.length !== 4) return undefined;
  const [keyId, accountId, outcome, tier = ""] = parts as [string, string, string, string?];
  const count = Number(value);
  if (!keyId || !accountId || !outcome || !Number.isFinite(count)) return undefined;
  return { keyId, accountId, outcome: outcome as UsageOutcome, tier, count };
}

/**
 * Reads a hash in pages (HSCAN), so a day with 100,000 counters never has to fit one reply. `match`
 * narrows the fields server-side (e.g. to one account).
 */
export async function* scanHash(
  redis: Redis,
  key: string,
  options: { match?: string; count?: number } = {},
): AsyncGenerator<Array<[string, unknown]>> {
  let cursor: string | number = 0;
  do {
    const [next, flat]: [string | number, unknown[]] = await redis.hscan(key, cursor, {
      match: options.match,
      count: options.count ?? 5000,
    });
    const page: Array<[string, unknown]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) page.push([String(flat[i]), flat[i + 1]]);
    if (page.length > 0) yield page;
    cursor = next;
  } while (String(cursor) !== "0");
}

/** Every key matching `pattern` (SCAN, paged). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | number = 0;
  do {
    const [next, page]: [string | number, string[]] = await redis.scan(cursor, {
      match: pattern,
      count: 1000,
    });
    keys.push(...page);
    cursor = next;
  } while (String(cursor) !== "0");
  return keys;
}
