import { presentKey } from "../../admin/admin.presenters";
import { createKey, listKeys, revokeKey, rotateKey } from "../../keys/key-service";
import type { KeyServiceDeps } from "../../keys/service-deps";
import { ApiError } from "../../lib/errors";
import { lastUsedTimes } from "../../usage/last-used";
import { type Refused, refused } from "./refusal";

/**
 * The developer's own keys. Every operation is scoped by the session's account id (key-service checks it in
 * the same query that finds the key), so another developer's key id answers 404 exactly like an id that does
 * not exist: guessing ids learns nothing.
 */
type Deps = KeyServiceDeps & { accountId: string };

/** Enough for any real project; stops a script from minting keys without end. */
export const MAX_ACTIVE_KEYS = 20;

export type PortalKey = Omit<ReturnType<typeof presentKey>, "accountId">;

function portalKey(key: Parameters<typeof presentKey>[0], lastUsedAt?: number): PortalKey {
  const { accountId: _owner, ...rest } = presentKey(key, { lastUsedAt });
  return rest;
}

export async function listPortalKeys(deps: Deps): Promise<PortalKey[]> {
  const keys = await listKeys(deps, deps.accountId);
  // Last-used times are a nicety: a Redis hiccup shows the rolled-up ones rather than failing the list.
  const lastUsed = await lastUsedTimes(
    deps.redis,
    keys.map((key) => key.id),
  ).catch(() => new Map<string, number>());
  return keys.map((key) => portalKey(key, lastUsed.get(key.id)));
}

/**
 * Issues a key for the developer's account.
 * @returns the key (shown once) and its record, or a `conflict` refusal (409, with the cap as `limit`) when
 *   the account has MAX_ACTIVE_KEYS active keys.
 */
export async function createPortalKey(
  deps: Deps,
  input: { name: string; expiresAt: Date | null },
): Promise<{ key: string; record: PortalKey } | Refused> {
  // Counted under a lock on the account in the insert's transaction: concurrent creations cannot pass the cap.
  const issued = await createKey(deps, deps.accountId, input, { maxActiveKeys: MAX_ACTIVE_KEYS });
  if ("outcome" in issued) {
    return refused(
      "conflict",
      `An account can have ${issued.maxActiveKeys} active keys; revoke one you no longer use.`,
      { extensions: { limit: issued.maxActiveKeys } },
    );
  }
  return { key: issued.key, record: portalKey(issued.record) };
}

export async function rotatePortalKey(
  deps: Deps,
  keyId: string,
  overlapHours: number | undefined,
): Promise<{ key: string; record: PortalKey; previous: PortalKey }> {
  const rotated = await rotateKey(deps, keyId, { overlapHours, accountId: deps.accountId });
  return { key: rotated.key, record: portalKey(rotated.record), previous: portalKey(rotated.previous) };
}

export async function revokePortalKey(deps: Deps, keyId: string): Promise<PortalKey> {
  return portalKey(await revokeKey(deps, keyId, deps.accountId));
}

/** One of the developer's keys by id, else 404 (for confirmation pages). */
export async function findPortalKey(deps: Deps, keyId: string): Promise<PortalKey> {
  const key = (await listPortalKeys(deps)).find((candidate) => candidate.id === keyId);
  if (!key) throw new ApiError("not_found", { detail: "No key with this id." });
  return key;
}
