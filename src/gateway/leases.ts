import type { AccountRecord, KeyRecord } from "../keys/records";
import type { Plan } from "../plans/plans";
import type { LeaseReply } from "./lease-call";
import { LEASE_MS } from "./lease-life";
import type { LimitOutcome } from "./limit-outcome";
import type { MonthWindow } from "./month";
import { slidingWindowRetryMs } from "./retry-after";
import type { UsageLedger } from "./usage";

/** The most tokens one isolate asks for beyond its waiting requests. */
const MAX_EXTRA_TOKENS = 1000;
/** Leases are asked this much larger than the rate seen, so a steady key renews about once a lease. */
const HEADROOM = 1.5;
const MAX_LEASES = 10_000;

/** Tokens of one key that Redis granted to this isolate, handed out one per request with no round trip. */
export interface Lease {
  /** The lease record in Redis, from which unused tokens are given back. */
  recordKey: string;
  /** The records as Redis held them at the grant: the tier the tokens were granted under. */
  key: KeyRecord;
  account: AccountRecord;
  granted: number;
  handedOut: number;
  /** Unix ms: when the lease was asked for, and when it stops being used (grantedAt + LEASE_MS). */
  grantedAt: number;
  expiresAt: number;
  /** What Redis said at the grant: the budgets other isolates and later leases may still take. */
  reply: LeaseReply;
  /** A renewal ahead was started for it. */
  renewing?: boolean;
  /** The renewal that takes over once this lease is used up or expires. */
  next?: Lease;
}

/** A busy lease is renewed ahead once this share of its tokens or of its life is left. */
const RENEW_AHEAD_SHARE = 0.3;

/**
 * Whether a request that just took a token from `lease` should start its renewal in the background: only
 * leases that were granted more than one token (busy keys), once, when they run low on tokens or time.
 */
export function shouldRenewAhead(lease: Lease, now: number): boolean {
  if (lease.renewing || lease.granted <= 1) return false;
  const low = tokensLeft(lease) <= lease.granted * RENEW_AHEAD_SHARE;
  const late = lease.expiresAt - now <= (lease.expiresAt - lease.grantedAt) * RENEW_AHEAD_SHARE;
  if (!low && !late) return false;
  lease.renewing = true;
  return true;
}

/** Requests this lease can still admit with no round trip. */
export const tokensLeft = (lease: Lease) => lease.granted - lease.handedOut;

/**
 * This isolate's leases, by key hash. Requests take tokens from a live lease; a renewal that arrives while
 * the current lease still holds tokens waits behind it (`next`) and takes over when it runs out or expires,
 * so tokens granted are spent rather than sent back. A lease that lapses (expires, or is dropped) with
 * tokens unused hands them to the usage ledger, which gives them back to Redis with its next batch.
 */
export class LeaseTable {
  private readonly leases = new Map<string, Lease>();
  /** Hashes whose lease (or the one waiting behind it) still holds unused tokens: what a sweep looks at. */
  private readonly withTokens = new Set<string>();

  constructor(private readonly ledger: UsageLedger) {}

  /** One token from the key's live lease, or undefined when it has none (a round trip is needed). */
  take(hash: string, now: number): Lease | undefined {
    let lease = this.leases.get(hash);
    if (!lease) return undefined;
    if ((now >= lease.expiresAt || tokensLeft(lease) <= 0) && lease.next)
      lease = this.promote(hash, lease, now);
    if (now >= lease.expiresAt || tokensLeft(lease) <= 0) return undefined;
    lease.handedOut++;
    if (!holdsTokens(lease)) this.withTokens.delete(hash);
    return lease;
  }

  /**
   * Tokens to ask for beyond the waiting requests: the rate this isolate saw under the current lease,
   * over one lease's life, with headroom. 0 for a key seen once or rarely, whose lease then is exactly
   * its demand (the one-request-one-round-trip case).
   */
  extraFor(hash: string, now: number): number {
    const current = this.leases.get(hash);
    if (!current) return 0;
    const seenMs = Math.max(now - current.grantedAt, 50);
    const perLease = (current.handedOut / seenMs) * LEASE_MS * HEADROOM;
    return Math.min(MAX_EXTRA_TOKENS, Math.floor(perLease));
  }

  /** Installs a new lease for the key: behind the current one while that still holds tokens, else in its place. */
  install(hash: string, lease: Lease, now: number): void {
    const current = this.leases.get(hash);
    if (current && now < current.expiresAt && tokensLeft(current) > 0) {
      if (current.next) this.lapse(current.next, now);
      current.next = lease;
    } else {
      if (current) this.lapseAll(current, now);
      this.leases.delete(hash);
      this.leases.set(hash, lease);
    }
    if (tokensLeft(lease) > 0) this.withTokens.add(hash);
    if (this.leases.size > MAX_LEASES) {
      const oldest = this.leases.keys().next().value as string;
      this.drop(oldest, now);
    }
  }

  /** Ends the key's leases now (its record changed): unused tokens go back. */
  drop(hash: string, now: number): void {
    const current = this.leases.get(hash);
    if (current) this.lapseAll(current, now);
    this.leases.delete(hash);
    this.withTokens.delete(hash);
  }

  /** Ends the leases of every key of an account (its tier or state changed). */
  dropAccount(accountId: string, now: number): void {
    for (const [hash, lease] of this.leases) {
      if (lease.account.id === accountId) this.drop(hash, now);
    }
  }

  /** Gives back the unused tokens of every lease that has expired. */
  collectLapsed(now: number): void {
    for (const hash of this.withTokens) this.lapseExpired(hash, now);
  }

  /**
   * Gives back the unused tokens of the key's lease if it has expired. A round trip for the key calls this
   * first, so those tokens ride it ahead of the new grant: otherwise Redis still counts them as taken, grants
   * less than is left, and the isolate refuses requests the window has room for (a one-process burst that
   * outlived its 1 s lease admitted 42-45 of 50, reliability 01), giving the tokens back only afterwards.
   */
  lapseExpired(hash: string, now: number): void {
    let lease = this.leases.get(hash);
    if (lease && now >= lease.expiresAt) {
      if (lease.next) lease = this.promote(hash, lease, now);
      if (now >= lease.expiresAt) this.lapse(lease, now);
    }
    if (!lease || !holdsTokens(lease)) this.withTokens.delete(hash);
  }

  /** Whether a live lease still holds unused tokens (which go back once it lapses). */
  holdsTokens(): boolean {
    return this.withTokens.size > 0;
  }

  /** The lease waiting behind `current` takes its place; what `current` did not hand out goes back. */
  private promote(hash: string, current: Lease, now: number): Lease {
    const next = current.next as Lease;
    current.next = undefined;
    this.lapse(current, now);
    this.leases.set(hash, next);
    return next;
  }

  private lapseAll(lease: Lease, now: number): void {
    this.lapse(lease, now);
    if (lease.next) this.lapse(lease.next, now);
    lease.next = undefined;
  }

  private lapse(lease: Lease, now: number): void {
    if (tokensLeft(lease) <= 0) return;
    this.ledger.returnLease(lease.recordKey, lease.handedOut, now);
    // Whatever was not handed out is gone from this isolate now.
    lease.granted = lease.handedOut;
  }
}

const holdsTokens = (lease: Lease): boolean =>
  tokensLeft(lease) > 0 || (lease.next !== undefined && tokensLeft(lease.next) > 0);

/**
 * The budgets a request admitted from `lease` sees: what Redis had left at the grant plus what this lease
 * still holds. Exact when one isolate serves the key; with several, each reports its own share, so `r`
 * may be higher than what is left overall by at most what other isolates' leases hold (README).
 */
export function admittedOutcome(lease: Lease, plan: Plan, month: MonthWindow, now: number): LimitOutcome {
  return budgetsOf(lease.reply, tokensLeft(lease), plan, month, now);
}

/** The budgets of a lease reply, `left` tokens held in this isolate on top of what Redis had left. */
function budgetsOf(
  reply: LeaseReply,
  left: number,
  plan: Plan,
  month: MonthWindow,
  now: number,
): LimitOutcome {
  const outcome: LimitOutcome = {
    decision: "ok",
    window: {
      limit: plan.rateLimit.requests,
      remaining: Math.max(0, reply.windowLeft) + left,
      resetSeconds: windowResetSeconds(plan, now),
    },
    quota: {
      limit: plan.monthlyQuota,
      remaining: Math.max(0, reply.quotaLeft) + left,
      resetSeconds: Math.max(1, Math.ceil((month.endMs - now) / 1000)),
    },
  };
  if (plan.burst && reply.bucketTokens !== undefined) {
    outcome.burst = {
      limit: plan.burst.capacity,
      remaining: Math.max(0, Math.floor(reply.bucketTokens)) + left,
      resetSeconds: Math.max(
        1,
        Math.ceil((plan.burst.capacity - reply.bucketTokens) / plan.burst.refillPerSecond),
      ),
    };
  }
  return outcome;
}

/**
 * Why Redis granted a request nothing, as a refusal with an honest Retry-After: the quota's month end,
 * the sliding window's own formula (retry-after.ts), or the time the bucket needs for one token; the
 * longest of the budgets that are spent. Spending nothing for a refused request is what keeps it honest:
 * after Retry-After a request is admitted unless other traffic took the budget meanwhile.
 */
export function refusedOutcome(reply: LeaseReply, plan: Plan, month: MonthWindow, now: number): LimitOutcome {
  const outcome = budgetsOf(reply, 0, plan, month, now);
  if (reply.quotaLeft <= 0) {
    outcome.decision = "quota";
    outcome.retryAfter = outcome.quota.resetSeconds;
    return outcome;
  }
  outcome.decision = "rate_limited";
  const waits: number[] = [];
  if (reply.windowLeft <= 0) {
    const retryMs = slidingWindowRetryMs({
      now,
      windowMs: plan.rateLimit.windowSeconds * 1000,
      limit: plan.rateLimit.requests,
      current: reply.current,
      previous: reply.previous,
    });
    outcome.window.resetSeconds = Math.min(
      plan.rateLimit.windowSeconds,
      Math.max(1, Math.ceil(retryMs / 1000)),
    );
    waits.push(outcome.window.resetSeconds);
  }
  if (outcome.burst && plan.burst && reply.bucketTokens !== undefined && reply.bucketTokens < 1) {
    outcome.burst.resetSeconds = Math.max(
      1,
      Math.ceil((1 - reply.bucketTokens) / plan.burst.refillPerSecond),
    );
    waits.push(outcome.burst.resetSeconds);
  }
  outcome.retryAfter = Math.max(1, ...waits);
  return outcome;
}

function windowResetSeconds(plan: Plan, now: number): number {
  const windowMs = plan.rateLimit.windowSeconds * 1000;
  return Math.max(1, Math.ceil(((Math.floor(now / windowMs) + 1) * windowMs - now) / 1000));
}
