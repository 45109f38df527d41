import Stripe from "stripe";
import type { Logger } from "../../lib/log";
import { type PriceEnvironment, plans } from "../../plans/plans";
import { type SubscriptionView, subscriptionTier } from "./entitlement";

/**
 * Repairs subscriptions that grant a metered plan but lack its metered price: e.g. a basic -> pro move made
 * in Stripe's billing portal, which swaps the base price but cannot add a usage-based price (Stripe:
 * https://docs.stripe.com/customer-management/configure-portal#limitations). Without the item the usage
 * would be reported to the meter but never invoiced.
 *
 * The metered price is added through the Subscriptions API (`items: [{ price }]`, no proration: a metered
 * item bills usage in arrears, there is nothing to prorate). The Idempotency-Key is derived from the
 * subscription and the price (`metered-price:<sub>:<price>`), so Stripe applies it once however many events,
 * retries or concurrent deliveries ask (Stripe keeps idempotency keys for 24 hours; syncs of one customer
 * are also serialised by the account row lock, and each re-reads the subscription, so a later sync finds the
 * item present and asks nothing).
 *
 * Usage is not lost meanwhile: the metering job reports every request made under a metered tier to the meter
 * for the customer (src/billing/metering/metering.ts), whatever the subscription's items; Stripe keeps those meter
 * events on the customer, and once the metered item exists its invoice bills the meter's events of the
 * item's billing period, which for an item added mid-period is the subscription's current period.
 */
interface MeteredRepair {
  subscriptionId: string;
  price: string;
}

const RUNNING = new Set(["active", "trialing", "past_due"]);

/** The metered price `view` should carry and does not; undefined when nothing is missing. */
function missingMeteredPrice(view: SubscriptionView, environment: PriceEnvironment): string | undefined {
  if (!RUNNING.has(view.status)) return undefined;
  const tier = subscriptionTier(view.prices, environment);
  if (!tier || !plans[tier].metered) return undefined;
  const metered = plans[tier].stripeMeteredPriceIds[environment];
  if (metered.length === 0 || metered.some((price) => view.prices.includes(price))) return undefined;
  return metered[0];
}

const repairIdempotencyKey = (subscriptionId: string, price: string) =>
  `metered-price:${subscriptionId}:${price}`;

/**
 * Adds the missing metered price to each subscription of `views` that needs it; a view repaired gets the
 * price in its `prices`. A refusal is logged and left for the next sync (the tier is not held back by it).
 * @returns the repairs Stripe accepted.
 */
export async function repairMeteredItems(
  deps: { stripe: Stripe; environment: PriceEnvironment; log?: Logger },
  views: SubscriptionView[],
): Promise<MeteredRepair[]> {
  const repairs: MeteredRepair[] = [];
  for (const view of views) {
    const price = missingMeteredPrice(view, deps.environment);
    if (!price) continue;
    try {
      await deps.stripe.subscriptions.update(
        view.id,
        { items: [{ price }], proration_behavior: "none" },
        { idempotencyKey: repairIdempotencyKey(view.id, price) },
      );
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeError)) throw error;
      deps.log?.warn("metered price not added to the subscription; the next sync retries", {
        subscriptionId: view.id,
        price,
        type: error.type,
        code: error.code,
        stripeRequestId: error.requestId,
      });
      continue;
    }
    view.prices = [...view.prices, price];
    repairs.push({ subscriptionId: view.id, price });
    deps.log?.info("metered price added to a subscription that lacked it", {
      subscriptionId: view.id,
      price,
    });
  }
  return repairs;
}
