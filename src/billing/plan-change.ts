import type Stripe from "stripe";
import { getAccount } from "../keys/account-service";
import { ApiError } from "../lib/errors";
import {
  basePriceTier,
  checkoutPrices,
  isMeteredPrice,
  type PriceEnvironment,
  type TierId,
  tierRank,
} from "../plans/plans";
import type { CheckoutDeps } from "./checkout";
import { type SyncResult, syncCustomer } from "./customer-sync";
import { isEnded } from "./entitlement";
import { callStripe } from "./stripe-errors";

/**
 * Plan changes for subscribers, through the Subscriptions API (Stripe's billing portal cannot update a
 * subscription that holds a usage-based price). The base price is swapped and the plan's metered price is
 * added, swapped or removed, so every paid tier is billed what plans.ts says.
 *
 * Proration (https://docs.stripe.com/billing/subscriptions/prorations): an upgrade is invoiced and charged at
 * once (`always_invoice`), so the higher limits are paid for when they apply; a downgrade credits the unused
 * time on the next invoice (`create_prorations`). The preview and the change use the same `proration_date`,
 * so the amount shown is the amount charged.
 */
export interface PlanChange {
  subscriptionId: string;
  customerId: string;
  from: TierId;
  to: TierId;
  items: Stripe.SubscriptionUpdateParams.Item[];
  prorationBehavior: "always_invoice" | "create_prorations";
  /** Unix seconds. */
  prorationDate: number;
}

export interface PlanChangePreview {
  from: TierId;
  to: TierId;
  /** Charged now (upgrade) or on the next invoice (downgrade), in the currency's smallest unit. */
  amountDue: number;
  currency: string;
  /** `now`: an upgrade invoice paid at once; `next_invoice`: the next renewal invoice, credit included. */
  billed: "now" | "next_invoice";
  lines: Array<{ description: string; amount: number }>;
  prorationDate: number;
}

/** The change that moves the account's subscription to `tier`, from the subscription as Stripe has it now. */
async function planChangeFor(
  deps: CheckoutDeps,
  accountId: string,
  tier: TierId,
  prorationDate: number,
): Promise<PlanChange> {
  const target = checkoutPrices(tier, deps.environment);
  if (!target) {
    throw new ApiError("conflict", {
      detail: `The ${tier} tier is not for sale in ${deps.environment} mode: plans.ts lists no Stripe price for it.`,
    });
  }
  const account = await getAccount(deps, accountId);
  const subscriptionId = account.stripeSubscriptionId;
  const customerId = account.stripeCustomerId;
  if (!subscriptionId || !customerId) {
    throw new ApiError("conflict", { detail: "The account has no subscription to change: subscribe first." });
  }
  const subscription = await callStripe("read the subscription", deps.log, () =>
    deps.stripe.subscriptions.retrieve(subscriptionId),
  );
  if (isEnded(subscription.status) || subscription.status === "incomplete") {
    throw new ApiError("conflict", {
      detail: `The subscription is ${subscription.status}: a plan can be changed only on a running subscription.`,
    });
  }
  const from = currentTier(subscription, deps.environment);
  if (from === tier)
    throw new ApiError("conflict", { detail: `The subscription is already on the ${tier} plan.` });
  return {
    subscriptionId,
    customerId,
    from: from ?? "free",
    to: tier,
    items: itemChanges(subscription, target, deps.environment),
    prorationBehavior: from && tierRank(tier) < tierRank(from) ? "create_prorations" : "always_invoice",
    prorationDate,
  };
}

function currentTier(subscription: Stripe.Subscription, environment: PriceEnvironment): TierId | null {
  let best: TierId | null = null;
  for (const item of subscription.items.data) {
    const tier = basePriceTier(item.price.id, environment);
    if (tier && (best === null || tierRank(tier) > tierRank(best))) best = tier;
  }
  return best;
}

/** Swap the first base price, drop other base prices, and make the metered item match the target plan. */
function itemChanges(
  subscription: Stripe.Subscription,
  target: { price: string; metered?: string },
  environment: PriceEnvironment,
): Stripe.SubscriptionUpdateParams.Item[] {
  const changes: Stripe.SubscriptionUpdateParams.Item[] = [];
  let baseSwapped = false;
  let meteredKept = false;
  for (const item of subscription.items.data) {
    const price = item.price.id;
    if (basePriceTier(price, environment)) {
      changes.push(baseSwapped ? { id: item.id, deleted: true } : { id: item.id, price: target.price });
      baseSwapped = true;
    } else if (isMeteredPrice(price, environment)) {
      if (target.metered && !meteredKept) {
        if (price !== target.metered) changes.push({ id: item.id, price: target.metered });
        meteredKept = true;
      } else {
        changes.push({ id: item.id, deleted: true });
      }
    }
  }
  if (!baseSwapped) changes.push({ price: target.price, quantity: 1 });
  if (target.metered && !meteredKept) changes.push({ price: target.metered });
  return changes;
}

/** What moving to `tier` would cost, from Stripe's invoice preview. */
export async function previewPlanChange(
  deps: CheckoutDeps,
  accountId: string,
  tier: TierId,
  now = new Date(),
): Promise<PlanChangePreview> {
  const change = await planChangeFor(deps, accountId, tier, Math.floor(now.getTime() / 1000));
  const invoice = await callStripe("preview the plan change", deps.log, () =>
    deps.stripe.invoices.createPreview({
      customer: change.customerId,
      subscription: change.subscriptionId,
      subscription_details: {
        items: change.items,
        proration_behavior: change.prorationBehavior,
        proration_date: change.prorationDate,
      },
    }),
  );
  return {
    from: change.from,
    to: change.to,
    amountDue: invoice.amount_due,
    currency: invoice.currency,
    billed: change.prorationBehavior === "always_invoice" ? "now" : "next_invoice",
    lines: invoice.lines.data.map((line) => ({ description: line.description ?? "", amount: line.amount })),
    prorationDate: change.prorationDate,
  };
}

/**
 * Moves the account's subscription to `tier`, then syncs the account from Stripe at once (the webhook that
 * follows finds the same state), so the new limits apply on the next request.
 * @throws ApiError conflict (409) without a running subscription or for the current plan; 402-like
 *   payment_provider_error (502) when Stripe refuses (a declined upgrade payment changes nothing).
 */
export async function changePlan(
  deps: CheckoutDeps & { graceDays: number },
  accountId: string,
  tier: TierId,
  options: { prorationDate?: number; actor: { type: "admin" | "portal"; id: string } },
): Promise<{ from: TierId; to: TierId; sync: SyncResult }> {
  const now = new Date();
  const change = await planChangeFor(
    deps,
    accountId,
    tier,
    options.prorationDate ?? Math.floor(now.getTime() / 1000),
  );
  await callStripe("change the plan", deps.log, () =>
    deps.stripe.subscriptions.update(change.subscriptionId, {
      items: change.items,
      proration_behavior: change.prorationBehavior,
      proration_date: change.prorationDate,
      // An upgrade whose payment fails is not applied: the customer keeps the plan they paid for.
      payment_behavior:
        change.prorationBehavior === "always_invoice" ? "error_if_incomplete" : "allow_incomplete",
    }),
  );
  const sync = await syncCustomer(
    { ...deps, now, graceDays: deps.graceDays },
    { customerId: change.customerId, accountId, actor: options.actor },
  );
  return { from: change.from, to: change.to, sync };
}
