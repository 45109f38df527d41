import type { Redis } from "@upstash/redis/cloudflare";
import { asc, inArray } from "drizzle-orm";
import type { Database } from "../db/client";
import { usageSpool } from "../db/schema/usage-spool";
import { type SealedBatch, sendBatches } from "./usage-batch";

/** Batches one replay run takes at most; the next run continues. */
const REPLAY_BATCHES_PER_RUN = 500;
/** Batches per Redis round trip during a replay. */
const REPLAY_BATCHES_PER_TRIP = 50;

/**
 * Keeps batches in Postgres until Redis has applied them (the durable path of usage, for counts the edge
 * could not get Redis to confirm). Idempotent: a batch spooled twice is one row.
 * Throws what the driver throws; the caller keeps the batches and tries again later.
 */
export async function spoolBatches(db: Database, batches: readonly SealedBatch[]): Promise<void> {
  if (batches.length === 0) return;
  await db
    .insert(usageSpool)
    .values(
      batches.map((batch) => ({
        batchId: batch.id,
        payload: batch.payload,
        sealedAt: new Date(batch.sealedAt),
      })),
    )
    .onConflictDoNothing();
}

interface ReplayResult {
  /** Batches Redis confirmed (applied now, or found applied before) and the spool let go. */
  replayed: number;
  /** Batches still spooled because their script failed; the next run retries them. */
  kept: number;
}

/**
 * For the scheduled job (every minute): has Redis apply spooled batches, oldest first, and deletes each
 * once Redis confirmed it. A batch is deleted only after Redis applied it, so a run that fails midway loses
 * nothing; Redis's marker of each batch id makes a repeat (a batch that had landed after all, or two runs
 * at once) change nothing. Throws when Redis or Postgres fails; what was not deleted is retried next run.
 */
export async function replaySpool(deps: { db: Database; redis: Redis }): Promise<ReplayResult> {
  const rows = await deps.db
    .select()
    .from(usageSpool)
    .orderBy(asc(usageSpool.sealedAt))
    .limit(REPLAY_BATCHES_PER_RUN);
  const result: ReplayResult = { replayed: 0, kept: 0 };
  for (let i = 0; i < rows.length; i += REPLAY_BATCHES_PER_TRIP) {
    const batches = rows.slice(i, i + REPLAY_BATCHES_PER_TRIP).map((row) => ({
      id: row.batchId,
      payload: row.payload,
      sealedAt: row.sealedAt.getTime(),
    }));
    const confirmed = await sendBatches(deps.redis, batches);
    const done = batches.filter((_, index) => confirmed[index]).map((batch) => batch.id);
    if (done.length > 0) await deps.db.delete(usageSpool).where(inArray(usageSpool.batchId, done));
    result.replayed += done.length;
    result.kept += batches.length - done.length;
  }
  return result;
}
