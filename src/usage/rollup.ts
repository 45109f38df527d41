import type { Redis } from "@upstash/redis/cloudflare";
import { sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { usageDaily } from "../db/schema/usage-daily";
import { redisKeys } from "../store/layout";
import { parseCounterField, scanHash, scanKeys } from "./usage-counters";

const ROWS_PER_STATEMENT = 2000;
const DAY_KEY = /^gw:usage:(\d{4}-\d{2}-\d{2})$/;

interface RollupResult {
  days: number;
  counters: number;
  lastUsed: number;
}

/**
 * Copies usage counters from Redis into Postgres. Redis holds absolute counts per key, day, outcome and tier,
 * and the upsert keeps the greater of the stored and the new count: running twice, or two runs at once, can
 * never double count, and a failed run is caught up by the next (day hashes live 40 days in Redis). A key
 * used under two tiers in one day (an upgrade) has one row per tier.
 */
export async function rollupUsage(deps: { db: Database; redis: Redis }): Promise<RollupResult> {
  const result: RollupResult = { days: 0, counters: 0, lastUsed: 0 };
  for (const key of await scanKeys(deps.redis, redisKeys.usageDay("*"))) {
    const day = DAY_KEY.exec(key)?.[1];
    if (!day) continue;
    result.days += 1;
    for await (const page of scanHash(deps.redis, key)) {
      const rows = page.flatMap(([field, value]) => {
        const counter = parseCounterField(field, value);
        return counter ? [{ ...counter, day }] : [];
      });
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        await deps.db
          .insert(usageDaily)
          .values(rows.slice(i, i + ROWS_PER_STATEMENT))
          .onConflictDoUpdate({
            target: [usageDaily.keyId, usageDaily.day, usageDaily.outcome, usageDaily.tier],
            set: { count: sql`greatest(${usageDaily.count}, excluded.count)` },
          });
      }
      result.counters += rows.length;
    }
  }
  result.lastUsed = await rollupLastUsed(deps);
  return result;
}

/** Last-used times move forward only, so concurrent or repeated runs agree. */
async function rollupLastUsed(deps: { db: Database; redis: Redis }): Promise<number> {
  let updated = 0;
  for await (const page of scanHash(deps.redis, redisKeys.lastUsed)) {
    const pairs = page
      .map(([keyId, value]) => [keyId, Number(value)] as const)
      .filter(([keyId, at]) => /^key_[0-9A-Za-z]+$/.test(keyId) && Number.isFinite(at));
    for (let i = 0; i < pairs.length; i += ROWS_PER_STATEMENT) {
      const chunk = pairs.slice(i, i + ROWS_PER_STATEMENT);
      const values = sql.join(
        chunk.map(([keyId, at]) => sql`(${keyId}, to_timestamp(${at / 1000}))`),
        sql`, `,
      );
      await deps.db.execute(sql`
        update api_keys set last_used_at = greatest(api_keys.last_used_at, v.at)
        from (values ${values}) as v(id, at)
        where api_keys.id = v.id`);
      updated += chunk.length;
    }
  }
  return updated;
}
