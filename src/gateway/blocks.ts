import { TtlCache } from "../lib/ttl-cache";
import type { LimitOutcome } from "./limit-outcome";

/**
 * Refusals this isolate remembers: a key (or account) that Redis just refused is refused again from memory
 * with no round trip. Once a second ONE request goes to Redis to re-check while the others keep the
 * remembered refusal, so an upgrade or a freed window is seen by every isolate within about a second, and a
 * client hammering a blocked key costs Redis one round trip a second per isolate, however hard it hammers.
 */
const RECHECK_EVERY_MS = 1000;
/** How long a refusal is kept at most; its re-checks keep refreshing it while Redis still refuses. */
const MAX_BLOCK_MS = 60_000;

interface Block {
  outcome: LimitOutcome;
  /** When a request would be admitted (unix ms), for Retry-After on later remembered refusals. */
  retryAt: number;
  /** When the next request should go to Redis instead of being refused from memory. */
  recheckAt: number;
}

const quotaBlockKey = (accountId: string) => `quota:${accountId}`;
const rateBlockKey = (keyId: string) => `rate:${keyId}`;

export class BlockTable {
  private readonly blocks = new TtlCache<string, Block>(10_000, MAX_BLOCK_MS);

  /** Remembers a refusal Redis gave (quota refusals hold the whole account, rate refusals the key). */
  remember(keyId: string, accountId: string, outcome: LimitOutcome, now: number): void {
    if (outcome.decision === "ok" || outcome.retryAfter === undefined) return;
    const retryAt = now + outcome.retryAfter * 1000;
    this.blocks.set(
      outcome.decision === "quota" ? quotaBlockKey(accountId) : rateBlockKey(keyId),
      { outcome, retryAt, recheckAt: now + RECHECK_EVERY_MS },
      now,
      Math.min(MAX_BLOCK_MS, retryAt - now),
    );
  }

  /** Redis granted a request of this key: whatever this isolate still holds against it is out of date. */
  forget(keyId: string, accountId: string): void {
    // Called on every grant: nothing to build or look up while no refusal is held at all.
    if (this.blocks.size === 0) return;
    this.blocks.delete(quotaBlockKey(accountId));
    this.blocks.delete(rateBlockKey(keyId));
  }

  /**
   * A refusal still in force for this key or its account, with its Retry-After brought up to date; or
   * undefined when the request should ask Redis: no refusal is known, or this request is the one that
   * re-checks (the others in the same second keep being refused from memory).
   */
  active(keyId: string, accountId: string, now: number): LimitOutcome | undefined {
    if (this.blocks.size === 0) return undefined;
    const block = this.blocks.get(quotaBlockKey(accountId), now) ?? this.blocks.get(rateBlockKey(keyId), now);
    if (!block) return undefined;
    if (now >= block.recheckAt) {
      // This request re-checks; if it fails or is lost, the next one may try again a second later.
      block.recheckAt = now + RECHECK_EVERY_MS;
      return undefined;
    }
    const retryAfter = Math.max(1, Math.ceil((block.retryAt - now) / 1000));
    const { outcome } = block;
    return outcome.decision === "quota"
      ? { ...outcome, retryAfter, quota: { ...outcome.quota, resetSeconds: retryAfter } }
      : {
          ...outcome,
          retryAfter,
          window: { ...outcome.window, resetSeconds: Math.min(outcome.window.resetSeconds, retryAfter) },
        };
  }
}
