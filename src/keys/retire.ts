import type { Redis } from "@upstash/redis/cloudflare";
import { and, eq, lte } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import type { Database } from "../db/client";
import { apiKeys } from "../db/schema/api-keys";
import { keyRef, replayEdgeOutbox } from "./edge-outbox";

/**
 * Marks keys whose expiry (or rotation overlap) has passed as `expired` in Postgres and replaces their Redis
 * records. The edge already refuses them by `expiresAt`; this makes lists and lookups say so too. The
 * conditional update retires each key exactly once, however many runs overlap; a publish that fails stays in
 * the edge outbox for the next replay.
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
  if (retired.length > 0) await replayEdgeOutbox(deps, { only: retired.map((row) => keyRef(row.hash)) });
  return retired.length;
}
