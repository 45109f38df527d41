import type { Redis } from "@upstash/redis/cloudflare";
import { and, asc, eq, isNotNull, lte, ne } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import type { Database } from "../db/client";
import { accounts } from "../db/schema/accounts";
import { publishAccountRecord } from "../keys/record-store";
import { toAccountRecord } from "../keys/records";
import type { Logger } from "../lib/log";
import { effectiveTier } from "./billing-state";

export interface PastDueDeps {
  db: Database;
  redis: Redis;
  /** PAST_DUE_GRACE_DAYS: how long a past-due account keeps its tier. */
  pastDueGraceDays: number;
  log?: Logger;
}

const DAY_MS = 86_400_000;
/** Accounts per run; the next run (the cron repeats) takes the rest. */
const BATCH = 200;
export const PAST_DUE_JOB_ACTOR = { type: "system", id: "past-due-grace" } as const;

/**
 * For the scheduled job: drops accounts whose payment has been failing for longer than the grace period to
 * free. Postgres keeps the subscription and `past_due_since`, so invoice.paid restores the tier at once.
 *
 * Each account is re-checked under its row lock, so a payment that arrived since the candidates were read
 * wins. Redis is written while the lock is held, before the commit: expiry only ever moves towards free, so a
 * commit that fails after the write leaves the edge stricter for a moment and the next run repeats it, while
 * a failed write rolls back and is retried too. Safe to run twice or concurrently.
 */
export async function expirePastDueAccounts(deps: PastDueDeps, now: Date): Promise<{ expired: number }> {
  const cutoff = new Date(now.getTime() - deps.pastDueGraceDays * DAY_MS);
  const candidates = await deps.db
    .select({ id: accounts.id })
    .from(accounts)
    .where(
      and(isNotNull(accounts.pastDueSince), lte(accounts.pastDueSince, cutoff), ne(accounts.tier, "free")),
    )
    .orderBy(asc(accounts.pastDueSince))
    .limit(BATCH);
  let expired = 0;
  for (const { id } of candidates) {
    const changed = await deps.db.transaction(async (tx) => {
      const [account] = await tx.select().from(accounts).where(eq(accounts.id, id)).for("update");
      if (!account) return false;
      const tier = effectiveTier(account, now, deps.pastDueGraceDays);
      if (tier === account.tier) return false;
      await tx.update(accounts).set({ tier }).where(eq(accounts.id, id));
      await recordAudit(tx, {
        accountId: id,
        actor: PAST_DUE_JOB_ACTOR,
        action: "account.tier_changed",
        targetId: id,
        data: { from: account.tier, to: tier, reason: "past_due_grace_ended" },
      });
      await publishAccountRecord(deps.redis, toAccountRecord({ id, tier }));
      return true;
    });
    if (changed) expired += 1;
  }
  if (expired > 0) deps.log?.info("past-due accounts dropped to free", { expired });
  return { expired };
}
