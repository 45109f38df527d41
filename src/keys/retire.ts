import type { Redis } from "@upstash/redis/cloudflare";
import { and, eq, lte } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import type { Database } from "../db/client";
import { apiKeys } from "../db/schema/api-keys";
import { publishKeyRecord } from "./record-store";
import { toKeyRecord } from "./records";

/**
 * Marks keys whose expiry (or rotation overlap) has passed as `expired` in Postgres and replaces their Redis
 * records. The edge already refuses them by `expiresAt`; this makes lists and lookups say so too. The
 * conditional update retires each key exactly once, however many runs overlap.
 */
export async function retireExpiredKeys(deps: { db: Database; redis: Redis }, now: Date): Promise<number> {
  const retired = await deps.db.transaction(async (tx) => {
    const rows = await tx
      .update(apiKeys)
      .set({ status: "expired" })
      .where(and(eq(apiKeys.status, "active"), lte(apiKeys.expiresAt, now)))
      .returning();
    for (const row of rows) {
      await recordAudit(tx, {
        accountId: row.accountId,
        actor: { type: "system", id: "cron:retire-keys" },
        action: "key.expired",
        targetId: row.id,
        data: { expiresAt: row.expiresAt?.toISOString() ?? null },
      });
    }
    return rows;
  });
  await Promise.all(retired.map((row) => publishKeyRecord(deps.redis, row.hash, toKeyRecord(row))));
  return retired.length;
}
