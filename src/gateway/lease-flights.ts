import type { Redis } from "@upstash/redis/cloudflare";
import type { AccountRecord, KeyRecord } from "../keys/records";
import { planFor } from "../plans/plans";
import { redisKeys } from "../store/layout";
import { deadlineCapMs } from "../store/redis";
import type { SealedBatch } from "../usage/usage-batch";
import { callLease, type LeaseReply } from "./lease-call";
import { LEASE_MS } from "./lease-life";
import type { Lease, LeaseTable } from "./leases";
import type { MonthWindow } from "./month";
import { randomId, type UsageLedger } from "./usage";

/** The Upstash client's per-request deadline (AbortSignal.timeout) fired: the outcome is unknown. */
function isDeadline(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === "TimeoutError" || name === "AbortError";
}

/** Unix ms at which the sliding window `now` falls in ends, for the plan of the account's tier. */
function windowEndMs(account: AccountRecord, now: number): number {
  const windowMs = planFor(account.tier).rateLimit.windowSeconds * 1000;
  return (Math.floor(now / windowMs) + 1) * windowMs;
}

/** Open counts ride a lease call once they are this old; younger ones wait for the next call or the flush. */
const CARRY_AFTER_MS = 250;

/** What a request learns from a flight. */
export type FlightOutcome =
  /** Redis answered; `lease` is set when the request got a token from it. */
  | { kind: "answered"; reply: LeaseReply; lease?: Lease }
  /** The round trip failed or missed its deadline: RATE_LIMIT_FAIL_MODE decides. */
  | { kind: "failed"; error: unknown };

type Signal = { lead: true } | FlightOutcome;

/** A waiting request's place: the leader writes the outcome into it. */
interface Ticket {
  signal?: Signal;
}

interface Flight {
  /** Unix ms when the current round trip left: a flight older than the stuck bound is taken over. */
  startedAt: number;
  /** Requests waiting for the NEXT round trip of this key (the current one left without them). */
  waiting: Ticket[];
}

/** How often a waiting request looks at its ticket: from 1 ms, doubling, to at most this. */
const MAX_POLL_MS = 8;

export interface FlightDeps {
  redis: Redis;
  /** RATE_LIMIT_TIMEOUT_MS: each round trip's deadline. */
  timeoutMs: number;
  month: MonthWindow;
  /** Keeps the round trip alive after the leading request's response (ctx.waitUntil). */
  waitUntil(promise: Promise<unknown>): void;
  /** Hands batches whose outcome is unknown to the durable spool (usage/spool.ts). */
  spool(batches: SealedBatch[]): void;
}

/**
 * Coalesces every request of a key that finds no live lease onto ONE Redis round trip at a time (single
 * flight): the first request leads the round trip; requests arriving meanwhile wait, and the next round
 * trip, led by the first of them, asks for all of them at once. A burst of hundreds thus costs a few round
 * trips and is served exactly from what Redis grants, instead of queueing hundreds of calls into the
 * deadline. Each round trip is led by a request that is itself waiting for it, in its own context, as
 * Workers require of I/O; waiting requests read their outcome from shared memory.
 */
export class LeaseFlights {
  private readonly flights = new Map<string, Flight>();

  constructor(
    private readonly leases: LeaseTable,
    private readonly ledger: UsageLedger,
  ) {}

  /** A token for one request of the key with SHA-256 `hash`, from a round trip shared with its peers. */
  async acquire(hash: string, deps: FlightDeps): Promise<FlightOutcome> {
    const now = Date.now();
    const flight = this.flights.get(hash);
    if (!flight || now - flight.startedAt > this.stuckAfterMs(deps)) {
      // No round trip under way (or one whose leader vanished): this request leads the next one.
      const fresh: Flight = { startedAt: now, waiting: flight?.waiting ?? [] };
      this.flights.set(hash, fresh);
      return this.lead(hash, fresh, deps, true) as Promise<FlightOutcome>;
    }
    const signal = await this.wait(flight, deps);
    if (!("lead" in signal)) return signal;
    // The round trip this request waited behind may have left a lease with tokens to spare: use it first.
    const lease = this.leases.take(hash, Date.now());
    if (lease) {
      this.handOver(hash, flight);
      return { kind: "answered", reply: lease.reply, lease };
    }
    return this.lead(hash, flight, deps, true) as Promise<FlightOutcome>;
  }

  /**
   * Renews a busy key's lease in the background before it runs out, so its requests keep being served from
   * memory instead of waiting for the round trip; the caller hands the promise to ctx.waitUntil. Does
   * nothing while a round trip of the key is under way.
   */
  renewAhead(hash: string, deps: FlightDeps): Promise<unknown> {
    const now = Date.now();
    const flight = this.flights.get(hash);
    if (flight && now - flight.startedAt <= this.stuckAfterMs(deps)) return Promise.resolve();
    const fresh: Flight = { startedAt: now, waiting: flight?.waiting ?? [] };
    this.flights.set(hash, fresh);
    return this.lead(hash, fresh, deps, false);
  }

  /**
   * Waits for the leader to write this request's outcome into its ticket. Polled, not a promise the leader
   * resolves: Workers refuse to settle one request's promise from another request's context, so requests
   * share only plain memory. A waiter never outlives its leader's round trips (and their retry): if the leader's context is gone, it
   * fails over to the fail mode instead of hanging.
   */
  private async wait(flight: Flight, deps: FlightDeps): Promise<Signal> {
    const ticket: Ticket = {};
    flight.waiting.push(ticket);
    const limit = this.stuckAfterMs(deps);
    for (
      let waited = 0, delay = 1;
      !ticket.signal;
      waited += delay, delay = Math.min(delay * 2, MAX_POLL_MS)
    ) {
      if (waited >= limit) {
        const index = flight.waiting.indexOf(ticket);
        if (index >= 0) flight.waiting.splice(index, 1);
        return { kind: "failed", error: new Error("the shared lease round trip did not answer in time") };
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    return ticket.signal;
  }

  /**
   * A round trip and its one retry, each at most the deadline's cap (an isolate busy with a burst stretches
   * the deadline, store/redis.ts), then waiting time to spare.
   */
  private stuckAfterMs(deps: FlightDeps): number {
    return 2 * deadlineCapMs(deps.timeoutMs) + 200;
  }

  /**
   * One round trip for the key: for this request (`own`) and every request that queued before it left.
   * Resolves this request's outcome (undefined for a renewal ahead, which has no request of its own).
   */
  private async lead(
    hash: string,
    flight: Flight,
    deps: FlightDeps,
    own: boolean,
  ): Promise<FlightOutcome | undefined> {
    const now = Date.now();
    const mine = own ? 1 : 0;
    flight.startedAt = now;
    const followers = flight.waiting.splice(0);
    this.leases.lapseExpired(hash, now);
    const oldest = this.ledger.oldestOpen;
    // Tokens coming back go with every call (ahead of the lease, which then can grant them again); counts
    // once they are old enough, so a quiet key's call does not carry a batch each time.
    const carry = this.ledger.returnsTokens || (oldest !== undefined && now - oldest >= CARRY_AFTER_MS);
    const batches = carry ? this.ledger.takeBatches(now) : [];
    const demand = mine + followers.length;
    const extra = this.leases.extraFor(hash, now);
    let outcomes: FlightOutcome[] | undefined;
    // One retry when the deadline was missed: under a burst the isolate itself may have been too busy to read
    // the reply in time, and failing open would admit past the limit. Connection errors fail at once.
    // The retry sends the SAME lease id: Redis answers it with the grant already made, if the first call got
    // there, so the two calls can never both take tokens.
    const leaseId = randomId();
    for (let attempt = 0; outcomes === undefined; attempt++) {
      const call = callLease(deps.redis, { hash, demand, extra, leaseId, now, month: deps.month }, batches);
      deps.waitUntil(call.catch(() => {}));
      try {
        const { reply, settled } = await call;
        this.ledger.confirm(batches.filter((_, index) => settled[index]));
        this.ledger.redisFailing = false;
        outcomes = this.distribute(hash, reply, leaseId, now, demand);
      } catch (error) {
        if (attempt === 0 && isDeadline(error)) continue;
        // Redis may have granted the lease after all: give it back, whole, with the next batch that lands.
        this.ledger.returnLease(redisKeys.lease(leaseId), 0, now);
        this.ledger.redisFailing = true;
        if (batches.length > 0) deps.spool(batches);
        outcomes = Array(demand).fill({ kind: "failed", error });
      }
    }
    for (const [index, ticket] of followers.entries())
      ticket.signal = outcomes[index + mine] as FlightOutcome;
    this.handOver(hash, flight);
    return own ? outcomes[0] : undefined;
  }

  /** The next round trip is led by the first request that queued during this one, if any did. */
  private handOver(hash: string, flight: Flight): void {
    const next = flight.waiting.shift();
    if (next) next.signal = { lead: true };
    else if (this.flights.get(hash) === flight) this.flights.delete(hash);
  }

  /** Serves the requests of a round trip in arrival order from the grant; the rest become the lease. */
  private distribute(
    hash: string,
    reply: LeaseReply,
    leaseId: string,
    now: number,
    requests: number,
  ): FlightOutcome[] {
    const usable = reply.key?.kind === "key" && reply.account !== null && reply.granted > 0;
    // A key Redis no longer lets through loses its lease here at once (a renewal ahead learns it too).
    if (reply.key?.kind !== "key" || reply.key.status !== "active" || reply.account === null) {
      this.leases.drop(hash, now);
    }
    if (!usable) return Array(requests).fill({ kind: "answered", reply });
    const lease: Lease = {
      recordKey: redisKeys.lease(leaseId),
      key: reply.key as KeyRecord,
      account: reply.account as AccountRecord,
      granted: reply.granted,
      handedOut: 0,
      grantedAt: now,
      // Never past the window the tokens were counted in: spent in the next one, they would be counted in
      // the wrong window and let it admit more than its limit.
      expiresAt: Math.min(now + LEASE_MS, windowEndMs(reply.account as AccountRecord, now)),
      reply,
    };
    this.leases.install(hash, lease, now);
    return Array.from({ length: requests }, () => {
      const taken = this.leases.take(hash, now);
      return taken ? { kind: "answered", reply, lease: taken } : { kind: "answered", reply };
    });
  }
}
