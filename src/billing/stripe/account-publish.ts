import type { Redis } from "@upstash/redis/cloudflare";
import { eq } from "drizzle-orm";
import type { Database } from "../../db/client";
import { accounts } from "../../db/schema/accounts";
import { publishAccountRecord } from "../../keys/record-store";
import { toAccountRecord } from "../../keys/records";

const MAX_ROUNDS = 3;

/**
 * Publishes an account's committed tier to Redis, which every edge re-reads on each request. Called after
 * the commit, so Redis never shows a change Postgres may still roll back. Two events for one account can
 * commit and publish in either order, so after writing, the tier is read again: if a later commit changed it
 * meanwhile, that tier is written too. The last write to Redis thus always follows the last commit.
 */
export async function publishCommittedTier(db: Database, redis: Redis, accountId: string): Promise<void> {
  let tier = await committedTier(db, accountId);
  for (let round = 0; tier !== undefined && round < MAX_ROUNDS; round++) {
    await publishAccountRecord(redis, toAccountRecord({ id: accountId, tier }));
    const again = await committedTier(db, accountId);
    if (again === tier) return;
    tier = again;
  }
}

async function committedTier(db: Database, accountId: string): Promise<string | undefined> {
  const [row] = await db.select({ tier: accounts.tier }).from(accounts).where(eq(accounts.id, accountId));
  return row?.tier;
}
