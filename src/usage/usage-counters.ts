import type { Redis } from "@upstash/redis/cloudflare";
import type { UsageOutcome } from "../db/schema/usage-daily";

/** One usage counter as the edge keeps it in Redis: field `${keyId}|${accountId}|${outcome}` of a day hash. */
export interface UsageCounter {
  keyId: string;
  accountId: string;
  outcome: UsageOutcome;
  count: number;
}

export function parseCounterField(field: string, value: unknown): UsageCounter | undefined {
  const [keyId, accountId, outcome] = field.split("|");
  const count = Number(value);
  if (!keyId || !accountId || !outcome || !Number.isFinite(count)) return undefined;
  return { keyId, accountId, outcome: outcome as UsageOutcome, count };
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
