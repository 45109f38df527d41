import { TtlCache } from "../lib/ttl-cache";
import type { LimitOutcome } from "./limiter";

/**
 * The ephemeral cache of refusals: a key (or account) that Redis just refused is refused again from isolate
 * memory with no round trip. Entries live at most one second, so an upgrade or a freed window is seen by
 * every isolate within that second, while a client hammering a blocked key costs Redis nothing.
 */
const MAX_BLOCK_MS = 1000;

export interface Block {
  outcome: LimitOutcome;
  /** When a request would be admitted (unix ms), for Retry-After on later cached refusals. */
  retryAt: number;
}

const blocks = new TtlCache<string, Block>(10_000, MAX_BLOCK_MS);

const blockKey = (keyId: string, accountId: string, decision: "rate_limited" | "quota") =>
  decision === "quota" ? `quota:${accountId}` : `rate:${keyId}`;

export function rememberBlock(keyId: string, accountId: string, outcome: LimitOutcome, now: number): void {
  if (outcome.decision === "ok" || outcome.retryAfter === undefined) return;
  const retryAt = now + outcome.retryAfter * 1000;
  blocks.set(
    blockKey(keyId, accountId, outcome.decision),
    { outcome, retryAt },
    now,
    Math.min(MAX_BLOCK_MS, retryAt - now),
  );
}

/** A refusal still in force for this key or its account, with its Retry-After brought up to date. */
export function activeBlock(keyId: string, accountId: string, now: number): LimitOutcome | undefined {
  const block =
    blocks.get(blockKey(keyId, accountId, "quota"), now) ??
    blocks.get(blockKey(keyId, accountId, "rate_limited"), now);
  if (!block) return undefined;
  const retryAfter = Math.max(1, Math.ceil((block.retryAt - now) / 1000));
  const outcome = structuredClone(block.outcome);
  outcome.retryAfter = retryAfter;
  if (outcome.decision === "quota") outcome.quota.resetSeconds = retryAfter;
  else outcome.window.resetSeconds = Math.min(outcome.window.resetSeconds, retryAfter);
  return outcome;
}
