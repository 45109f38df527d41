import type { Redis } from "@upstash/redis/cloudflare";
import { CommandBatch } from "../store/command-batch";
import { redisKeys } from "../store/layout";
import { evalScript, prepareScripts } from "../store/scripts";
import { SETTLE_SCRIPT } from "./settle-script";

/** A sealed batch of usage: never changed once sealed, applied by Redis at most once by its id. */
export interface SealedBatch {
  /** 128-bit random hex: the batch's identity in Redis and in the spool. */
  id: string;
  /** SETTLE_SCRIPT's batch JSON. */
  payload: string;
  /** Unix ms at which it was sealed. */
  sealedAt: number;
}

/**
 * How long Redis remembers that a batch was applied: a repeat within it changes nothing. Every repeat
 * (a retry, a spool replay) comes well within it unless Redis answers nothing for this long.
 */
const BATCH_MARKER_TTL_MS = 60 * 60_000;

/**
 * How long Redis keeps a lease record (gateway/lease-script.ts), from which unused tokens are given back:
 * well past a lease's second, and past the spool's replay (every minute) after a short outage.
 */
export const LEASE_RECORD_TTL_MS = 5 * 60_000;

/** Adds a batch's SETTLE_SCRIPT to a pipeline; the reply is 1 (applied now) or 0 (applied before). */
export function settleIn(pipeline: CommandBatch, batch: SealedBatch): Promise<number> {
  return evalScript<number>(
    pipeline,
    SETTLE_SCRIPT,
    [redisKeys.usageBatch(batch.id)],
    [BATCH_MARKER_TTL_MS, batch.payload, LEASE_RECORD_TTL_MS],
  );
}

/**
 * Sends batches in one round trip. Resolves, per batch, true when Redis has applied it (now or before) and
 * false when its script failed; throws when the round trip itself fails (outcome unknown).
 */
export async function sendBatches(redis: Redis, batches: readonly SealedBatch[]): Promise<boolean[]> {
  await prepareScripts(SETTLE_SCRIPT);
  const pipeline = new CommandBatch(redis);
  const settles = batches.map((batch) => settleIn(pipeline, batch));
  // When the round trip fails, execute() throws for the caller; the replies must not go unhandled then.
  for (const reply of settles) reply.catch(() => {});
  await pipeline.execute();
  return Promise.all(settles.map((reply) => reply.then(() => true).catch(() => false)));
}
