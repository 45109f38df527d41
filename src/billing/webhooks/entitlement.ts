import { basePriceTier, type PriceEnvironment, type TierId, tierRank } from "../../plans/plans";

/**
 * What an account is entitled to, derived from ALL of its Stripe customer's subscriptions as Stripe has them
 * now. Pure, so every rule is tested without I/O. Because the input is Stripe's current state (re-read on
 * each event, see customer-sync.ts), the result does not depend on the order events arrive in.
 *
 * Rules:
 *  - a subscription's tier is decided by its BASE prices (the highest tier among them); metered prices never
 *    decide a tier, and a subscription holding no plan's base price grants nothing;
 *  - a subscription grants its tier while `active` or `trialing`, and while `past_due` for the grace period
 *    (PAST_DUE_GRACE_DAYS), counted from the unpaid invoice's creation (Stripe's first attempt to charge it);
 *    `incomplete`, `incomplete_expired`, `unpaid`, `paused` and `canceled` grant nothing (Stripe's meanings:
 *    https://docs.stripe.com/billing/subscriptions/overview#subscription-statuses);
 *  - the account's tier is the highest tier any subscription grants, else free.
 */
export interface SubscriptionView {
  id: string;
  status: string;
  /** Unix seconds. */
  created: number;
  /** Price ids of its items. */
  prices: string[];
  /** For a past_due subscription: when its unpaid (latest) invoice was created. */
  unpaidSince: Date | null;
  /** When it ends by cancel-at-period-end, if set. */
  cancelAt: Date | null;
  /** The next phase of a subscription schedule managing it: the items Stripe will switch to, and when. */
  nextPhase: { scheduleId: string; startsAt: Date; prices: string[] } | null;
  /** Id and status of its latest invoice. */
  latestInvoice: { id: string; status: string | null } | null;
}

export interface Entitlement {
  /** The tier that applies now. */
  tier: TierId;
  /** The subscription the portal shows: the one granting the tier, else the most relevant other one. */
  subscriptionId: string | null;
  subscriptionStatus: string | null;
  /** The tier that subscription's base price buys (null: none of the plans' prices). */
  subscribedTier: TierId | null;
  /** Set while that subscription is past due: the grace period counts from here. */
  pastDueSince: Date | null;
  subscriptionCancelAt: Date | null;
  /**
   * A change Stripe will make at a period's end: `free` when the subscription is cancelled at period end,
   * else the tier of its schedule's next phase when that differs from its tier now. Null: none pending.
   */
  scheduledTier: TierId | null;
  scheduledChangeAt: Date | null;
}

const DAY_MS = 86_400_000;
const ENDED = new Set(["canceled", "incomplete_expired"]);

/** Stripe says this subscription is over: it can never bill or grant again. */
export const isEnded = (status: string) => ENDED.has(status);

/** The highest tier among the subscription's base prices; null when it holds none. */
export function subscriptionTier(prices: string[], environment: PriceEnvironment): TierId | null {
  let best: TierId | null = null;
  for (const price of prices) {
    const tier = basePriceTier(price, environment);
    if (tier && (best === null || tierRank(tier) > tierRank(best))) best = tier;
  }
  return best;
}

/** Whether the subscription grants its tier at `now`. */
function grants(subscription: SubscriptionView, now: Date, graceDays: number): boolean {
  if (subscription.status === "active" || subscription.status === "trialing") return true;
  if (subscription.status !== "past_due") return false;
  const since = subscription.unpaidSince ?? now;
  return now.getTime() - since.getTime() < graceDays * DAY_MS;
}

export function deriveEntitlement(
  subscriptions: SubscriptionView[],
  environment: PriceEnvironment,
  now: Date,
  graceDays: number,
): Entitlement {
  const newestFirst = [...subscriptions].sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
  let granting: { view: SubscriptionView; tier: TierId } | undefined;
  for (const view of newestFirst) {
    const tier = subscriptionTier(view.prices, environment);
    if (!tier || !grants(view, now, graceDays)) continue;
    if (!granting || tierRank(tier) > tierRank(granting.tier)) granting = { view, tier };
  }
  const shown = granting?.view ?? newestFirst.find((view) => !isEnded(view.status)) ?? newestFirst[0];
  if (!shown) {
    return {
      tier: "free",
      subscriptionId: null,
      subscriptionStatus: null,
      subscribedTier: null,
      pastDueSince: null,
      subscriptionCancelAt: null,
      scheduledTier: null,
      scheduledChangeAt: null,
    };
  }
  const subscribedTier = subscriptionTier(shown.prices, environment);
  const scheduled = scheduledChangeOf(shown, subscribedTier, environment);
  return {
    tier: granting?.tier ?? "free",
    subscriptionId: shown.id,
    subscriptionStatus: shown.status,
    subscribedTier,
    pastDueSince: shown.status === "past_due" ? (shown.unpaidSince ?? now) : null,
    subscriptionCancelAt: isEnded(shown.status) ? null : shown.cancelAt,
    scheduledTier: scheduled?.tier ?? null,
    scheduledChangeAt: scheduled?.at ?? null,
  };
}

/** What the subscription will become at its period's end, when Stripe has a change planned. */
function scheduledChangeOf(
  view: SubscriptionView,
  tierNow: TierId | null,
  environment: PriceEnvironment,
): { tier: TierId; at: Date } | null {
  if (isEnded(view.status)) return null;
  if (view.cancelAt) return { tier: "free", at: view.cancelAt };
  if (!view.nextPhase) return null;
  const next = subscriptionTier(view.nextPhase.prices, environment) ?? "free";
  return next === tierNow ? null : { tier: next, at: view.nextPhase.startsAt };
}
