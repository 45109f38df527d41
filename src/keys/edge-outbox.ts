import type { Redis } from "@upstash/redis/cloudflare";
import { and, asc, eq, lte, or } from "drizzle-orm";
import type { Database } from "../db/client";
import { type EdgeOutboxKind, edgeOutbox } from "../db/schema/edge-outbox";
import { ApiError } from "../lib/errors";
import { redisKeys } from "../store/layout";
import {
  loadAccountFromPostgres,
  loadKeyFromPostgres,
  publishAccountRecord,
  publishKeyRecord,
} from "./record-store";

/**
 * How a change Postgres committed reaches the edge, whatever fails in between (issue 18, item 10).
 *
 * 1. Before COMMIT, inside the change's transaction, the Redis records it makes stale are deleted
 *    (`invalidateBeforeCommit`). If Redis cannot confirm that, the transaction rolls back and the caller is told
 *    truthfully that nothing was changed. Once deleted, an edge that looks the record up misses and reads
 *    Postgres, so from the commit on the edge sees the change even if nothing else ever reaches Redis.
 * 2. The commit itself leaves `edge_outbox` rows (database triggers, drizzle/0005_edge_outbox.sql), whoever made
 *    the change: a service, the billing webhook, the cron, an operator's SQL (e.g. deleting an account).
 * 3. After the commit, `replayEdgeOutbox` publishes the committed truth read back from Postgres and deletes the
 *    rows only once Redis confirmed; what it could not publish the scheduled job replays (every 5 minutes).
 */
interface EdgeRef {
  kind: EdgeOutboxKind;
  /** A key's SHA-256 hex, or an account id. */
  ref: string;
}

type OutboxDeps = { db: Database; redis: Redis };

/** Rows a replay takes at most; the next replay continues. */
const REPLAY_BATCH = 500;
/** Publish, read Postgres again, publish again if a later commit changed it meanwhile: at most this often. */
const MAX_PUBLISH_ROUNDS = 3;

/**
 * Deletes the edge's records of `refs` from Redis; call it as the LAST step inside the change's transaction.
 * @throws ApiError `unavailable` (503, Retry-After) when Redis does not confirm: the transaction then rolls
 *   back, so the answer's "nothing was changed" is true, and a retry is safe.
 */
export async function invalidateBeforeCommit(redis: Redis, refs: EdgeRef[]): Promise<void> {
  if (refs.length === 0) return;
  try {
    await redis.del(...refs.map(redisKeyOf));
  } catch (error) {
    throw new ApiError("unavailable", {
      detail:
        "Nothing was changed: the store every edge reads could not be reached, so the change could not be " +
        "made effective everywhere. Retry shortly; retrying is safe.",
      headers: { "Retry-After": "5" },
      cause: error,
    });
  }
}

interface ReplayResult {
  /** Records written to (or removed from) Redis. */
  published: number;
  /** True when a whole batch was taken: more rows may be pending for the next replay. */
  more: boolean;
}

/**
 * Publishes to Redis what Postgres holds now for every pending outbox row (or only for `only`), oldest first,
 * and deletes the rows it published (only those it read: a commit that lands meanwhile leaves its own row).
 * A key that no longer exists is published as `unknown` (an account that no longer exists: see writeTruth).
 * Idempotent and safe to overlap: each publish is re-checked against Postgres afterwards.
 * @throws the Redis or Postgres error that stopped it (rows not yet published stay pending).
 */
export async function replayEdgeOutbox(
  deps: OutboxDeps,
  options: { only?: EdgeRef[] } = {},
): Promise<ReplayResult> {
  const { only } = options;
  if (only && only.length === 0) return { published: 0, more: false };
  const rows = await deps.db
    .select({ id: edgeOutbox.id, kind: edgeOutbox.kind, ref: edgeOutbox.ref })
    .from(edgeOutbox)
    .where(
      only
        ? or(...only.map((item) => and(eq(edgeOutbox.kind, item.kind), eq(edgeOutbox.ref, item.ref))))
        : undefined,
    )
    .orderBy(asc(edgeOutbox.id))
    .limit(REPLAY_BATCH);
  const latest = new Map<string, { kind: EdgeOutboxKind; ref: string; maxId: number }>();
  for (const row of rows) {
    const id = `${row.kind}:${row.ref}`;
    const seen = latest.get(id);
    latest.set(id, { kind: row.kind, ref: row.ref, maxId: Math.max(seen?.maxId ?? 0, row.id) });
  }
  let published = 0;
  for (const item of latest.values()) {
    await publishCommitted(deps, item);
    await deps.db
      .delete(edgeOutbox)
      .where(
        and(eq(edgeOutbox.kind, item.kind), eq(edgeOutbox.ref, item.ref), lte(edgeOutbox.id, item.maxId)),
      );
    published += 1;
  }
  return { published, more: rows.length === REPLAY_BATCH };
}

/**
 * After a commit: replays the change's own rows. A failure is logged, not thrown: the change is committed and,
 * its records having been deleted before the commit (or never existing), already in force at the edge; the
 * outbox keeps the rows for the scheduled replay.
 */
export async function publishAfterCommit(
  deps: OutboxDeps & { log?: { warn(message: string, fields?: Record<string, unknown>): void } },
  refs: EdgeRef[],
): Promise<void> {
  try {
    await replayEdgeOutbox(deps, { only: refs });
  } catch (error) {
    deps.log?.warn("edge publish after commit failed; the outbox keeps it for the scheduled replay", {
      error,
      records: refs.length,
    });
  }
}

async function publishCommitted(deps: OutboxDeps, item: EdgeRef): Promise<void> {
  let truth = await readTruth(deps.db, item);
  for (let round = 0; round < MAX_PUBLISH_ROUNDS; round++) {
    await writeTruth(deps.redis, item, truth);
    const again = await readTruth(deps.db, item);
    if (JSON.stringify(again) === JSON.stringify(truth)) return;
    truth = again;
  }
  await writeTruth(deps.redis, item, truth);
}

async function readTruth(db: Database, item: EdgeRef) {
  return item.kind === "key"
    ? { kind: "key" as const, found: await loadKeyFromPostgres(db, item.ref) }
    : { kind: "account" as const, found: await loadAccountFromPostgres(db, item.ref) };
}

async function writeTruth(redis: Redis, item: EdgeRef, truth: Awaited<ReturnType<typeof readTruth>>) {
  if (truth.kind === "key") {
    await publishKeyRecord(redis, item.ref, truth.found?.key ?? { kind: "unknown" });
    if (truth.found) await publishAccountRecord(redis, truth.found.account);
    return;
  }
  // A deleted account's record is left to expire. The edge reaches an account only through a key record, and
  // its keys' rows (deleted with it, ON DELETE CASCADE) publish them as `unknown`, which the edge refuses;
  // while a missing account record makes today's gateway admit from isolate memory and refill later.
  if (truth.found) await publishAccountRecord(redis, truth.found);
}

function redisKeyOf(item: EdgeRef): string {
  return item.kind === "key" ? redisKeys.apiKey(item.ref) : redisKeys.account(item.ref);
}

/** The refs of key hashes and account ids, for the functions above. */
export const keyRef = (hash: string): EdgeRef => ({ kind: "key", ref: hash });
export const accountRef = (accountId: string): EdgeRef => ({ kind: "account", ref: accountId });
