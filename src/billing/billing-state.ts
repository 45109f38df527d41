import type { Account } from "../db/schema/accounts";
import { isTierId, type TierId } from "../plans/plans";

/**
 * An account's billing state and the rules by which one Stripe event changes it. Pure: no I/O, so the
 * ordering rules can be tested over every delivery order.
 *
 * Stripe does not promise delivery order, so every event is ordered by its own `created` (seconds). The state
 * has two parts, each with its own cursor, because events carry different parts of the truth:
 *   - the subscription (id, status, the tier its price buys): set by subscription snapshots
 *     (checkout.session.completed, customer.subscription.*), ordered by `billingEventCreated`;
 *   - past due (`pastDueSince`): set by invoice.payment_failed / invoice.paid and by snapshots' status,
 *     ordered by `paymentEventCreated`.
 * One shared cursor would let an invoice event hide an older snapshot that carries a price change (or the
 * reverse), so the final state would depend on the order.
 * The tier the edge enforces is derived from both (`effectiveTier`), never stored from a single event.
 */
export type BillingState = Pick<
  Account,
  | "tier"
  | "subscribedTier"
  | "stripeCustomerId"
  | "stripeSubscriptionId"
  | "subscriptionStatus"
  | "billingEventCreated"
  | "paymentEventCreated"
  | "pastDueSince"
>;

/** What a subscription snapshot says: checkout.session.completed and customer.subscription.*. */
export interface SubscriptionFact {
  kind: "subscription";
  /** The event's `created`, unix seconds. */
  created: number;
  subscriptionId: string;
  customerId: string | null;
  /** Stripe's subscription status (a deletion is `canceled`). */
  status: string;
  /** The tier the subscription's price buys; null when no plan lists the price. */
  tier: TierId | null;
}

/** What an invoice event says: the subscription's payment failed or succeeded. */
export interface PaymentFact {
  kind: "payment";
  created: number;
  subscriptionId: string | null;
  customerId: string | null;
  paid: boolean;
}

export type BillingFact = SubscriptionFact | PaymentFact;

export type FactOutcome =
  /** The fact is the newest of its kind: the state now reflects it. */
  | "applied"
  /** A newer event of its kind was applied before: nothing changes. */
  | "stale"
  /** The fact is about a subscription that is not the account's current one: nothing changes. */
  | "other_subscription";

/** Statuses under which the subscribed tier applies; `past_due` only for the grace period. */
const GRANTING_STATUSES = new Set(["active", "trialing", "past_due"]);
const TERMINAL_STATUSES = new Set(["canceled", "incomplete_expired"]);

const DAY_MS = 86_400_000;

/** A subscription that is paid for or being dunned: a second one would be billed twice for one account. */
export function hasOngoingSubscription(
  state: Pick<BillingState, "stripeSubscriptionId" | "subscriptionStatus">,
) {
  const status = state.subscriptionStatus;
  return (
    state.stripeSubscriptionId !== null &&
    status !== null &&
    status !== "incomplete" &&
    !TERMINAL_STATUSES.has(status)
  );
}

/**
 * Tie-break for snapshots within the same second (`created` has no finer resolution): Stripe creates a
 * subscription `incomplete`, then activates it, and ends it last, so within one second the later stage wins,
 * whatever the delivery order.
 */
function stage(status: string | null): number {
  if (status === null) return -1;
  if (status === "incomplete") return 0;
  if (TERMINAL_STATUSES.has(status)) return 2;
  return 1;
}

/** The tier that applies at `now`: the subscribed tier while the subscription is good, else free. */
export function effectiveTier(
  state: Pick<BillingState, "subscribedTier" | "subscriptionStatus" | "pastDueSince">,
  now: Date,
  graceDays: number,
): TierId {
  const { subscribedTier, subscriptionStatus, pastDueSince } = state;
  if (!subscribedTier || !isTierId(subscribedTier)) return "free";
  if (!subscriptionStatus || !GRANTING_STATUSES.has(subscriptionStatus)) return "free";
  if (pastDueSince && now.getTime() - pastDueSince.getTime() >= graceDays * DAY_MS) return "free";
  return subscribedTier;
}

const secondsToDate = (seconds: number) => new Date(seconds * 1000);

/**
 * Applies one fact. The customer id is recorded whatever the outcome: it is identity, not state, so any event
 * may teach it. `now` and `graceDays` decide whether a past-due account still keeps its tier.
 */
export function applyFact(
  state: BillingState,
  fact: BillingFact,
  now: Date,
  graceDays: number,
): { state: BillingState; outcome: FactOutcome } {
  const next: BillingState = { ...state, stripeCustomerId: state.stripeCustomerId ?? fact.customerId };
  const outcome = fact.kind === "subscription" ? applySnapshot(next, fact) : applyPayment(next, fact);
  if (outcome === "applied" && next.stripeSubscriptionId !== null) {
    next.tier = effectiveTier(next, now, graceDays);
  }
  return { state: next, outcome };
}

function applySnapshot(next: BillingState, fact: SubscriptionFact): FactOutcome {
  // The end of a subscription that is no longer the account's (replaced by another) must not end the new one.
  const current = next.stripeSubscriptionId;
  if (TERMINAL_STATUSES.has(fact.status) && current !== null && current !== fact.subscriptionId) {
    return "other_subscription";
  }
  const cursor = next.billingEventCreated;
  if (
    cursor !== null &&
    (fact.created < cursor ||
      (fact.created === cursor && stage(fact.status) < stage(next.subscriptionStatus)))
  ) {
    return "stale";
  }
  next.stripeSubscriptionId = fact.subscriptionId;
  next.subscriptionStatus = fact.status;
  next.subscribedTier = fact.tier;
  next.billingEventCreated = fact.created;
  // A snapshot's status also says whether the subscription is past due, unless a newer payment event spoke.
  setPastDue(next, fact.status === "past_due", fact.created);
  return "applied";
}

function applyPayment(next: BillingState, fact: PaymentFact): FactOutcome {
  const current = next.stripeSubscriptionId;
  if (fact.subscriptionId !== null && current !== null && current !== fact.subscriptionId) {
    return "other_subscription";
  }
  return setPastDue(next, !fact.paid, fact.created) ? "applied" : "stale";
}

/**
 * Sets or clears past due if `created` is the newest payment information. Within the same second, clearing
 * wins: a payment that succeeded in the second another failed settles the invoice.
 * The grace period counts from the first failure, so a repeated failure keeps the earlier start.
 */
function setPastDue(next: BillingState, pastDue: boolean, created: number): boolean {
  const cursor = next.paymentEventCreated;
  if (cursor !== null && (created < cursor || (created === cursor && pastDue))) return false;
  next.pastDueSince = pastDue ? (next.pastDueSince ?? secondsToDate(created)) : null;
  next.paymentEventCreated = created;
  return true;
}
