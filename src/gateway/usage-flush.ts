import type { Redis } from "@upstash/redis/cloudflare";
import type { Logger } from "../lib/log";
import { type SealedBatch, sendBatches } from "../usage/usage-batch";
import { LEASE_MS } from "./lease-life";
import type { LeaseTable } from "./leases";
import type { UsageLedger } from "./usage";

/** How long after a request its counts may wait for a lease call to carry them before a flush sends them. */
export const FLUSH_DELAY_MS = 500;
/** While Redis is failing: the counts go to the spool almost at once. */
const FAILING_FLUSH_DELAY_MS = 20;
/** After a refusal: longer than a blocked key's re-check interval, so the re-checks carry the counts. */
export const REFUSAL_FLUSH_DELAY_MS = 1500;
/**
 * How long one request's waitUntil may keep waiting for traffic to pause before it flushes anyway: well
 * under the 30 s the runtime grants work after a response.
 */
const MAX_FLUSH_HOLD_MS = 5_000;

export interface FlushDeps {
  redis: Redis;
  log: Logger;
  /** Hands batches whose outcome is unknown to the durable spool; never rejects. */
  spool(batches: SealedBatch[]): Promise<void>;
}

/**
 * Makes sure counts and lapsed leases reach Redis when no lease call comes to carry them. One flush is
 * due per isolate at a time: the request that arms it hands the returned promise to ctx.waitUntil (each
 * request its OWN promise: Workers cannot settle one request's promise from another); the others add
 * nothing. Counts wait at most about FLUSH_DELAY_MS after traffic pauses, and while traffic flows they ride
 * lease renewals (at least one a second per busy key), so an isolate that is killed loses at most the counts
 * of its last second or so (docs/ARCHITECTURE.md).
 */
export class UsageFlusher {
  private due = false;
  /** Counts the flushes armed: a flush that handed over must not disarm the one armed after it. */
  private turns = 0;

  /** Whether a flush is already due: scheduling another would add nothing. */
  get armed(): boolean {
    return this.due;
  }

  constructor(
    private readonly ledger: UsageLedger,
    private readonly leases: LeaseTable,
  ) {}

  /**
   * Arms the isolate's flush unless one is armed already (then resolves at once). The caller hands the
   * promise to ctx.waitUntil; it resolves when the flush's watch ends, at most about 8 s later (ms delays:
   * `delayMs` between looks, MAX_FLUSH_HOLD_MS, two lease lives), and never rejects.
   */
  schedule(deps: FlushDeps, delayMs = FLUSH_DELAY_MS): Promise<void> {
    if (this.due) return Promise.resolve();
    this.due = true;
    const turn = ++this.turns;
    return this.flushWhenQuiet(deps, delayMs, turn)
      .catch((error) => deps.log.warn("usage flush failed; the counts are kept", { error }))
      .finally(() => this.handOver(turn));
  }

  /** Lets the next request arm a flush, unless one armed after `turn` already watches. */
  private handOver(turn: number): void {
    if (this.turns === turn) this.due = false;
  }

  /**
   * Every `delayMs` (at once while Redis is failing): gives back the tokens of leases that lapsed, and
   * writes what is pending unless a lease call carried batches meanwhile (traffic is flowing and will carry
   * the rest). Ends once nothing is pending and no live lease holds tokens that will need giving back; a
   * held flush writes anyway after MAX_FLUSH_HOLD_MS, and a lease's life later hands over to the next
   * request's flush (lastLeases). A write that fails is retried here, not dropped: counts recorded while it
   * was out are written by the next turn. Counted in carried batches, not read off the clock, which Workers
   * freeze during execution.
   */
  private async flushWhenQuiet(deps: FlushDeps, delayMs: number, turn: number): Promise<void> {
    let lastFailed = false;
    for (let waited = 0; ; ) {
      const pause = this.ledger.redisFailing && !lastFailed ? FAILING_FLUSH_DELAY_MS : delayMs;
      const carriedBefore = this.ledger.carried;
      await new Promise((resolve) => setTimeout(resolve, pause));
      waited += pause;
      this.leases.collectLapsed(Date.now());
      if (!this.ledger.pending && !this.leases.holdsTokens()) return;
      const quiet = this.ledger.carried === carriedBefore;
      const last = waited >= MAX_FLUSH_HOLD_MS + LEASE_MS;
      if (this.ledger.pending && (quiet || waited >= MAX_FLUSH_HOLD_MS || last)) {
        lastFailed = !(await this.flush(deps));
      }
      if (last) return this.lastLeases(deps, turn);
    }
  }

  /**
   * The end of a held flush: the next request may arm a new one, but if none comes, the leases alive now
   * must still give their unused tokens back, or they stay counted in the month's quota. Every lease lapses
   * within LEASE_MS, and the renewal queued behind it within LEASE_MS more.
   */
  private async lastLeases(deps: FlushDeps, turn: number): Promise<void> {
    this.handOver(turn);
    for (let round = 0; round < 2 && this.leases.holdsTokens(); round++) {
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
      this.leases.collectLapsed(Date.now());
    }
    if (this.ledger.pending) await this.flush(deps);
  }

  /**
   * Sends every pending batch now; batches whose round trip fails go to the spool. Resolves whether they
   * are safe (confirmed by Redis, or spooled); never rejects.
   */
  async flush(deps: FlushDeps): Promise<boolean> {
    const batches = this.ledger.takeBatches(Date.now());
    if (batches.length === 0) return true;
    try {
      const confirmed = await sendBatches(deps.redis, batches);
      this.ledger.redisFailing = false;
      this.ledger.confirm(batches.filter((_, index) => confirmed[index]));
      return confirmed.every(Boolean);
    } catch (error) {
      this.ledger.redisFailing = true;
      deps.log.warn("usage flush: redis did not confirm; spooling the batches", { error });
      await deps.spool(batches);
      return !this.ledger.holds(batches);
    }
  }
}
