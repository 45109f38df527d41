import type { Redis } from "@upstash/redis/cloudflare";
import { toHex } from "../../lib/hex";
import { redisKeys } from "../../store/layout";
import { toBase64Url } from "./password-hash";

/**
 * Portal sign-ins, in Redis with a TTL. The session id is 256 random bits that only the browser holds (in an
 * HttpOnly cookie); Redis keeps its SHA-256, so a copy of Redis lets no one sign in as anyone. Each account
 * also has a set of its sessions' hashes, so a password reset or change can end all its other sessions.
 */
interface PortalSession {
  accountId: string;
  /** Unix ms. */
  createdAt: number;
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export function newSecret(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return toHex(digest);
}

const sessionKey = async (id: string) => redisKeys.portalSession(await sha256Hex(id));

/** Starts a session and returns its id: put it in the cookie, nowhere else. Always a fresh id (no fixation). */
export async function createSession(redis: Redis, accountId: string, ttlSeconds: number): Promise<string> {
  const id = newSecret();
  const idHash = await sha256Hex(id);
  const session: PortalSession = { accountId, createdAt: Date.now() };
  const index = redisKeys.portalAccountSessions(accountId);
  // The index lives as long as the newest session; entries of expired sessions are dropped when it is used.
  await redis
    .multi()
    .set(redisKeys.portalSession(idHash), session, { ex: ttlSeconds })
    .sadd(index, idHash)
    .expire(index, ttlSeconds)
    .exec();
  return id;
}

/** The session for a cookie value, or undefined for a malformed, unknown or expired one. */
export async function readSession(redis: Redis, id: string | undefined): Promise<PortalSession | undefined> {
  if (!id || !SESSION_ID.test(id)) return undefined;
  const session = await redis.get<PortalSession>(await sessionKey(id));
  return session && typeof session.accountId === "string" ? session : undefined;
}

export async function deleteSession(redis: Redis, id: string): Promise<void> {
  if (SESSION_ID.test(id)) await redis.del(await sessionKey(id));
}

/**
 * Ends every session of the account except `keepId` (the caller's own, when it stays signed in).
 * @returns how many sessions were ended.
 */
export async function endOtherSessions(redis: Redis, accountId: string, keepId?: string): Promise<number> {
  const index = redisKeys.portalAccountSessions(accountId);
  const keep = keepId ? await sha256Hex(keepId) : undefined;
  const hashes = (await redis.smembers(index)).filter((hash) => hash !== keep);
  if (hashes.length === 0) return 0;
  const ended = await redis.del(...hashes.map((hash) => redisKeys.portalSession(hash)));
  await redis.srem(index, ...hashes);
  return ended;
}
