import { and, count, desc, eq } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { accounts } from "../db/schema/accounts";
import { type ApiKey, apiKeys } from "../db/schema/api-keys";
import { ApiError } from "../lib/errors";
import { getAccount } from "./account-service";
import { invalidateBeforeCommit, keyRef, publishAfterCommit } from "./edge-outbox";
import { displayStart, generateApiKey, hashApiKey, newId } from "./key-format";
import type { KeyServiceDeps } from "./service-deps";

/**
 * Key operations shared by the admin API and the portal. Postgres first (with the audit row in the same
 * transaction), then the key records every edge reads from Redis on its next request. A change that makes a
 * key LESS usable deletes its Redis record before the commit, and every change leaves an outbox row, so a
 * committed change reaches the edge whatever fails in between (see edge-outbox.ts).
 */
interface IssuedKey {
  /** The plaintext key: returned once, never stored. */
  key: string;
  record: ApiKey;
}

/** Rotation overlap bounds: long enough to redeploy a client, short enough that a leaked key dies soon. */
export const ROTATION_OVERLAP_HOURS = { default: 72, min: 0, max: 720 } as const;

async function newKeyRow(
  deps: KeyServiceDeps,
  accountId: string,
  input: { name: string; expiresAt: Date | null; metadata: Record<string, unknown> },
) {
  const key = generateApiKey(deps.keyEnvironment);
  return {
    key,
    values: {
      id: newId("key"),
      accountId,
      name: input.name,
      hash: await hashApiKey(key),
      start: displayStart(key),
      expiresAt: input.expiresAt,
      metadata: input.metadata,
    },
  };
}

/** The account has its cap of active keys: nothing was issued. */
type KeyCapReached = { outcome: "cap_reached"; maxActiveKeys: number };

type KeyInput = { name?: string; expiresAt?: Date | null; metadata?: Record<string, unknown> };

/**
 * Issues a key for an account. With `maxActiveKeys`, the cap is enforced in the insert's transaction under a
 * row lock on the account, so concurrent creations for one account are counted one after another and can never
 * together pass it (a count read before the write could); a creation past the cap returns `cap_reached`.
 * @throws ApiError `not_found` (no such account).
 */
export function createKey(deps: KeyServiceDeps, accountId: string, input: KeyInput): Promise<IssuedKey>;
export function createKey(
  deps: KeyServiceDeps,
  accountId: string,
  input: KeyInput,
  options: { maxActiveKeys: number },
): Promise<IssuedKey | KeyCapReached>;
export async function createKey(
  deps: KeyServiceDeps,
  accountId: string,
  input: KeyInput,
  options: { maxActiveKeys?: number } = {},
): Promise<IssuedKey | KeyCapReached> {
  const { key, values } = await newKeyRow(deps, accountId, {
    name: input.name ?? "",
    expiresAt: input.expiresAt ?? null,
    metadata: input.metadata ?? {},
  });
  const record = await deps.db.transaction(async (tx) => {
    const [owner] = await tx
      .select({ id: accounts.id })
      .from(accounts)
      .where(eq(accounts.id, accountId))
      .for("update")
      .limit(1);
    if (!owner) throw new ApiError("not_found", { detail: "No account with this id." });
    if (options.maxActiveKeys !== undefined) {
      const [active] = await tx
        .select({ n: count() })
        .from(apiKeys)
        .where(and(eq(apiKeys.accountId, accountId), eq(apiKeys.status, "active")));
      // Nothing is written yet: ending the transaction here leaves the account as it was.
      if ((active?.n ?? 0) >= options.maxActiveKeys) return undefined;
    }
    const [row] = await tx.insert(apiKeys).values(values).returning();
    if (!row) throw new Error("insert returned no row");
    await recordAudit(tx, {
      accountId,
      actor: deps.actor,
      action: "key.created",
      targetId: row.id,
      data: { name: row.name },
    });
    return row;
  });
  if (record === undefined) return { outcome: "cap_reached", maxActiveKeys: options.maxActiveKeys ?? 0 };
  // Publishing also replaces a cached "unknown" for this hash, should a client have tried the key early. If it
  // fails the key still works (a Redis miss reads Postgres), and the key is shown once: never fail the answer.
  await publishAfterCommit(deps, [keyRef(record.hash)]);
  return { key, record };
}

export async function listKeys(deps: Pick<KeyServiceDeps, "db">, accountId: string): Promise<ApiKey[]> {
  await getAccount(deps, accountId);
  return deps.db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.accountId, accountId))
    .orderBy(desc(apiKeys.createdAt));
}

function keyScope(keyId: string, accountId?: string) {
  return accountId ? and(eq(apiKeys.id, keyId), eq(apiKeys.accountId, accountId)) : eq(apiKeys.id, keyId);
}

/** Revokes a key; the edge refuses it from the next request on. Revoking twice is harmless. */
export async function revokeKey(deps: KeyServiceDeps, keyId: string, accountId?: string): Promise<ApiKey> {
  const record = await deps.db.transaction(async (tx) => {
    const [existing] = await tx
      .select()
      .from(apiKeys)
      .where(keyScope(keyId, accountId))
      .for("update")
      .limit(1);
    if (!existing) throw new ApiError("not_found", { detail: "No key with this id." });
    if (existing.status === "revoked") return existing;
    const [row] = await tx
      .update(apiKeys)
      .set({ status: "revoked", revokedAt: new Date(Date.now()) })
      .where(eq(apiKeys.id, keyId))
      .returning();
    if (!row) throw new Error("update returned no row");
    await recordAudit(tx, {
      accountId: row.accountId,
      actor: deps.actor,
      action: "key.revoked",
      targetId: row.id,
    });
    await invalidateBeforeCommit(deps.redis, [keyRef(row.hash)]);
    return row;
  });
  // Also on a repeated revoke: a retry is what repairs a publish that failed before.
  await publishAfterCommit(deps, [keyRef(record.hash)]);
  return record;
}

interface RotatedKey extends IssuedKey {
  /** The old key, now expiring at the end of the overlap. */
  previous: ApiKey;
}

/**
 * Issues a successor with the old key's account, name, metadata and expiry, and lets the old key live on
 * for `overlapHours` (never longer than it would have anyway). Both keys work during the overlap; the edge
 * refuses the old one the moment it ends, whether or not a scheduled job has run.
 */
export async function rotateKey(
  deps: KeyServiceDeps,
  keyId: string,
  input: { overlapHours?: number; accountId?: string },
): Promise<RotatedKey> {
  const now = Date.now();
  const overlapHours = input.overlapHours ?? ROTATION_OVERLAP_HOURS.default;
  const result = await deps.db.transaction(async (tx) => {
    const [old] = await tx
      .select()
      .from(apiKeys)
      .where(keyScope(keyId, input.accountId))
      .for("update")
      .limit(1);
    if (!old) throw new ApiError("not_found", { detail: "No key with this id." });
    if (old.status !== "active" || (old.expiresAt && old.expiresAt.getTime() <= now)) {
      throw new ApiError("conflict", { detail: "Only an active key can be rotated." });
    }
    if (old.rotatedToId) {
      throw new ApiError("conflict", {
        detail: "This key is already being rotated; rotate its successor instead.",
      });
    }
    const overlapEnd = now + overlapHours * 3_600_000;
    const previousExpiry = new Date(
      Math.min(old.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY, overlapEnd),
    );
    const successor = await newKeyRow(deps, old.accountId, {
      name: old.name,
      expiresAt: old.expiresAt,
      metadata: old.metadata,
    });
    const [record] = await tx.insert(apiKeys).values(successor.values).returning();
    const [previous] = await tx
      .update(apiKeys)
      .set({ expiresAt: previousExpiry, rotatedToId: successor.values.id })
      .where(eq(apiKeys.id, old.id))
      .returning();
    if (!record || !previous) throw new Error("rotation wrote no row");
    await recordAudit(tx, {
      accountId: old.accountId,
      actor: deps.actor,
      action: "key.rotated",
      targetId: old.id,
      data: { successorId: record.id, previousExpiresAt: previousExpiry.toISOString() },
    });
    await invalidateBeforeCommit(deps.redis, [keyRef(previous.hash)]);
    return { key: successor.key, record, previous };
  });
  await publishAfterCommit(deps, [keyRef(result.previous.hash), keyRef(result.record.hash)]);
  return result;
}
