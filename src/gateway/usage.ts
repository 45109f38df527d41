import type { UsageOutcome } from "../db/schema/usage-daily";
import { toHex } from "../lib/hex";
import { DAY_MS, SECONDS_PER_DAY, utcDay } from "../lib/time";
import { redisKeys } from "../store/layout";
import type { SealedBatch } from "../usage/usage-batch";
import { formatCounterField } from "../usage/usage-counters";

/**
 * The isolate's usage ledger: request counts (by key, day, outcome and the tier the request was decided
 * under), last-used times, quota charges of requests admitted without Redis, and leases that lapsed with
 * tokens unused. Nothing here talks to Redis: the data plane takes sealed batches from it, sends them riding
 * a lease call or a flush, and reports back.
 *
 * Exactly once: open counts are SEALED into a batch with a random id before they are sent; a batch is never
 * changed afterwards, and Redis applies an id at most once (settle-script.ts). So a batch whose reply was
 * late or lost is sent again, or handed to the durable spool, as the very same batch, never merged into
 * newer counts: nothing is counted twice, and nothing is dropped while the isolate lives.
 */
const USAGE_RETENTION_SECONDS = 40 * SECONDS_PER_DAY;
const SEPARATOR = "\n";

export class UsageLedger {
  private readonly counts = new Map<string, number>();
  private readonly lastUsed = new Map<string, number>();
  private readonly quotaCharges = new Map<string, { delta: number; expireAtMs: number }>();
  private readonly lapsedLeases = new Map<string, number>();
  /** Sealed and not yet confirmed by Redis nor handed to the spool: sent again as they are. */
  private readonly unconfirmed = new Map<string, SealedBatch>();
  /** Unix ms of the oldest open count, 0 when nothing is open. */
  private openSince = 0;
  /** How many times batches left with a round trip: a change means traffic is carrying them. */
  carried = 0;
  /** The day last formatted and its UTC day number: the hot path formats one date a day, not one a request. */
  private day = { number: Number.NaN, text: "" };

  /** Counts one request of `keyId` with its outcome, under the tier it was decided with. */
  record(keyId: string, accountId: string, outcome: UsageOutcome, tier: string, now: number): void {
    const slot = `${this.dayOf(now)}${SEPARATOR}${formatCounterField({ keyId, accountId, outcome, tier })}`;
    this.counts.set(slot, (this.counts.get(slot) ?? 0) + 1);
    if (outcome !== "auth") this.lastUsed.set(keyId, Math.max(now, this.lastUsed.get(keyId) ?? 0));
    this.opened(now);
  }

  /**
   * Charges a request admitted while Redis could not count it (fail-open) to its monthly quota, so an
   * outage does not hand out quota for free. `expireAtMs`: the counter's expiry, as the lease script sets it.
   */
  chargeQuota(quotaKey: string, expireAtMs: number, now: number): void {
    const current = this.quotaCharges.get(quotaKey);
    this.quotaCharges.set(quotaKey, { delta: (current?.delta ?? 0) + 1, expireAtMs });
    this.opened(now);
  }

  /**
   * A lease ended with `used` of its tokens handed out: Redis gives the rest back (a lease whose grant never
   * arrived is returned with used = 0, which refunds it if Redis did grant it).
   */
  returnLease(leaseRecordKey: string, used: number, now: number): void {
    this.lapsedLeases.set(leaseRecordKey, used);
    this.opened(now);
  }

  /** Whether anything waits to be written: open counts or batches not yet confirmed. */
  get pending(): boolean {
    return this.openSince !== 0 || this.unconfirmed.size > 0;
  }

  /** Whether lapsed leases wait to give tokens back. */
  get returnsTokens(): boolean {
    return this.lapsedLeases.size > 0;
  }

  /** Unix ms of the oldest open count, or undefined when nothing is open. */
  get oldestOpen(): number | undefined {
    return this.openSince === 0 ? undefined : this.openSince;
  }

  /**
   * Seals what is open into a batch and returns every batch that waits for Redis, oldest first. Each must be
   * reported back with confirm() or handedOff(); until then it stays here and is returned again.
   */
  takeBatches(now: number): SealedBatch[] {
    const sealed = this.seal(now);
    if (sealed) this.unconfirmed.set(sealed.id, sealed);
    if (this.unconfirmed.size > 0) this.carried++;
    return [...this.unconfirmed.values()];
  }

  /** Redis applied these batches (now, or an earlier attempt did). */
  confirm(batches: readonly SealedBatch[]): void {
    for (const batch of batches) this.unconfirmed.delete(batch.id);
  }

  /** Whether any of these batches still waits here (neither confirmed nor spooled). */
  holds(batches: readonly SealedBatch[]): boolean {
    return batches.some((batch) => this.unconfirmed.has(batch.id));
  }

  /** These batches are durable elsewhere (the spool); the ledger forgets them. */
  handedOff(batches: readonly SealedBatch[]): void {
    this.confirm(batches);
    this.spooled = true;
  }

  /**
   * Whether the last round trip to Redis failed: while it does, counts are spooled at once rather than held
   * for the flush delay, so an isolate killed during an outage loses next to nothing.
   */
  redisFailing = false;

  /**
   * Whether this isolate spooled batches since it last replayed the spool: the first round trip that
   * succeeds again replays it at once, rather than waiting for the minute's scheduled replay.
   */
  spooled = false;

  private dayOf(now: number): string {
    const number = Math.floor(now / DAY_MS);
    if (number !== this.day.number) this.day = { number, text: utcDay(now) };
    return this.day.text;
  }

  private opened(now: number): void {
    if (this.openSince === 0) this.openSince = now;
  }

  private seal(now: number): SealedBatch | undefined {
    if (this.openSince === 0) return undefined;
    const usage: Array<[string, string, number]> = [];
    for (const [slot, count] of this.counts) {
      const [day, field] = slot.split(SEPARATOR) as [string, string];
      usage.push([redisKeys.usageDay(day), field, count]);
    }
    const payload = {
      u: usage,
      e: USAGE_RETENTION_SECONDS,
      k: redisKeys.lastUsed,
      l: this.lastUsed.size > 0 ? Object.fromEntries(this.lastUsed) : undefined,
      q: [...this.quotaCharges].map(([key, { delta, expireAtMs }]) => [key, delta, expireAtMs]),
      r: [...this.lapsedLeases],
    };
    this.counts.clear();
    this.lastUsed.clear();
    this.quotaCharges.clear();
    this.lapsedLeases.clear();
    this.openSince = 0;
    return { id: randomId(), payload: JSON.stringify(payload), sealedAt: now };
  }
}

/** 128 random bits in hex: ids of usage batches and leases. */
export function randomId(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}
