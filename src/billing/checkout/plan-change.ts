import type Stripe from "stripe";
import { getAccount } from "../../keys/account-service";
import { ApiError } from "../../lib/errors";
import {
  basePriceTier,
  checkoutPrices,
  isMeteredPrice,
  type PriceEnvironment,
  type TierId,
  tierRank,
} from "../../plans/plans";
import { callStripe } from "../stripe/stripe-errors";
import { type SyncResult, syncCustomer } from "../webhooks/customer-sync";
import { isEnded } from "../webhooks/entitlement";
import type { CheckoutDeps } from "./checkout";

/**
 * Plan changes for subscribers, through the Subscriptions API (Stripe's billing portal cannot update a
 * subscription that holds a usage-based price). The base price is swapped and the plan's metered price is
 * added, swapped or removed, so every paid tier is billed what plans.ts says.
 *
 * When (PLAN_DOWNGRADE_TIMING):
 *  - an upgrade applies at once and is invoiced and charged at once (`always_invoice`,
 *    https://docs.stripe.com/billing/subscriptions/prorations), so the higher limits are paid for when they
 *    apply; a declined payment changes nothing (`error_if_incomplete`);
 *  - a downgrade with `period_end` (the default) takes effect when the paid period ends: to a lower paid plan
 *    by a subscription schedule made from the subscription whose next phase holds the new prices
 *    (https://docs.stripe.com/billing/subscriptions/subscription-schedules, "downgrading"), to free by
 *    `cancel_at_period_end`. Stripe makes the change at the boundary and sends customer.subscription.updated
 *    (or .deleted) and subscription_schedule.updated; until then the current phase's price decides the tier.
 *  - a downgrade with `immediately` applies at once and credits the unused time on the next invoice
 *    (`create_prorations`); to free, the subscription is cancelled now.
 * Any change first drops a change still pending (the schedule is released, cancel_at_period_end cleared):
 * the newest choice wins. The preview and the change use the same `proration_date`, so the amount shown is
 * the amount charged.
 */
type DowngradeTiming = "period_end" | "immediately";

export type PlanChangeDeps = CheckoutDeps & { downgradeTiming: DowngradeTiming };

interface PlanChange {
  subscription: Stripe.Subscription;
  customerId: string;
  from: TierId;
  to: TierId;
  /** The new items (null: to free, the subscription ends). */
  target: { price: string; metered?: string } | null;
  effective: "now" | "period_end";
  /** Unix seconds: the end of the current period. */
  periodEnd: number;
  prorationDate: number;
}

export interface PlanChangePreview {
  from: TierId;
  to: TierId;
  /** `now`: applied at once; `period_end`: Stripe makes the change when the current period ends. */
  effective: "now" | "period_end";
  /** When the change takes effect (ISO 8601). */
  effectiveAt: string;
  /** Charged now (upgrade) or on the next invoice, in the currency's smallest unit. */
  amountDue: number;
  currency: string;
  /** `now`: an upgrade invoice paid at once; `next_invoice`: the next renewal invoice; `none`: no invoice. */
  billed: "now" | "next_invoice" | "none";
  lines: Array<{ description: string; amount: number }>;
  prorationDate: number;
}

const scheduleIdOf = (subscription: Stripe.Subscription) =>
  typeof subscription.schedule === "string" ? subscription.schedule : (subscription.schedule?.id ?? null);

function periodEndOf(subscription: Stripe.Subscription): number {
  const ends = subscription.items.data.map((item) => item.current_period_end);
  return ends.length > 0 ? Math.min(...ends) : Math.floor(Date.now() / 1000);
}

/** The account's running subscription, as Stripe has it now. @throws ApiError conflict without one. */
async function runningSubscription(deps: CheckoutDeps, accountId: string) {
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
  return { subscription, customerId };
}

/** The change that moves the account's subscription to `tier`, from the subscription as Stripe has it now. */
async function planChangeFor(
  deps: PlanChangeDeps,
  accountId: string,
  tier: TierId,
  prorationDate: number,
): Promise<PlanChange> {
  const target = tier === "free" ? null : checkoutPrices(tier, deps.environment);
  if (tier !== "free" && !target) {
    throw new ApiError("conflict", {
      detail: `The ${tier} tier is not for sale in ${deps.environment} mode: plans.ts lists no Stripe price for it.`,
    });
  }
  const { subscription, customerId } = await runningSubscription(deps, accountId);
  const from = currentTier(subscription, deps.environment) ?? "free";
  if (from === tier)
    throw new ApiError("conflict", { detail: `The subscription is already on the ${tier} plan.` });
  const downgrade = tierRank(tier) < tierRank(from);
  return {
    subscription,
    customerId,
    from,
    to: tier,
    target: target ?? null,
    effective: downgrade && deps.downgradeTiming === "period_end" ? "period_end" : "now",
    periodEnd: periodEndOf(subscription),
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

/** A schedule phase's items: the target plan's prices, and any other price the subscription holds. */
function phaseItems(
  subscription: Stripe.Subscription,
  target: { price: string; metered?: string },
  environment: PriceEnvironment,
): Stripe.SubscriptionScheduleUpdateParams.Phase.Item[] {
  const others = subscription.items.data
    .filter(
      (item) => !basePriceTier(item.price.id, environment) && !isMeteredPrice(item.price.id, environment),
    )
    .map((item) => ({ price: item.price.id, ...(item.quantity ? { quantity: item.quantity } : {}) }));
  return [
    { price: target.price, quantity: 1 },
    ...(target.metered ? [{ price: target.metered }] : []),
    ...others,
  ];
}

const currentItems = (
  subscription: Stripe.Subscription,
): Stripe.SubscriptionScheduleUpdateParams.Phase.Item[] =>
  subscription.items.data.map((item) => ({
    price: item.price.id,
    ...(item.price.recurring?.usage_type === "metered" ? {} : { quantity: item.quantity ?? 1 }),
  }));

const prorationOf = (change: PlanChange) =>
  tierRank(change.to) > tierRank(change.from) ? "always_invoice" : "create_prorations";

/** What moving to `tier` would cost, from Stripe's invoice preview. */
export async function previewPlanChange(
  deps: PlanChangeDeps,
  accountId: string,
  tier: TierId,
  now = new Date(),
): Promise<PlanChangePreview> {
  const change = await planChangeFor(deps, accountId, tier, Math.floor(now.getTime() / 1000));
  const effectiveAt = new Date((change.effective === "now" ? change.prorationDate : change.periodEnd) * 1000);
  const base = {
    from: change.from,
    to: change.to,
    effective: change.effective,
    prorationDate: change.prorationDate,
  };
  if (!change.target) {
    // To free: nothing more is invoiced for the plan (Stripe cancels without a final invoice by default).
    return {
      ...base,
      effectiveAt: effectiveAt.toISOString(),
      amountDue: 0,
      currency: "usd",
      billed: "none",
      lines: [],
    };
  }
  const items = itemChanges(change.subscription, change.target, deps.environment);
  // At period end there is nothing to prorate: the preview is the first invoice at the new prices.
  const proration = change.effective === "period_end" ? "none" : prorationOf(change);
  const invoice = await callStripe("preview the plan change", deps.log, () =>
    deps.stripe.invoices.createPreview({
      customer: change.customerId,
      subscription: change.subscription.id,
      subscription_details: { items, proration_behavior: proration, proration_date: change.prorationDate },
    }),
  );
  return {
    ...base,
    effectiveAt: effectiveAt.toISOString(),
    amountDue: invoice.amount_due,
    currency: invoice.currency,
    billed: proration === "always_invoice" ? "now" : "next_invoice",
    lines: invoice.lines.data.map((line) => ({ description: line.description ?? "", amount: line.amount })),
  };
}

interface PlanChangeResult {
  from: TierId;
  to: TierId;
  effective: "now" | "period_end";
  /** When the change takes effect (ISO 8601). */
  effectiveAt: string;
  sync: SyncResult;
}

/**
 * Moves the account's subscription to `tier` (now, or at the period's end: see the module's rules), then
 * syncs the account from Stripe at once (the webhook that follows finds the same state), so new limits or
 * the pending change show on the next request.
 * @throws ApiError conflict (409) without a running subscription or for the current plan;
 *   payment_provider_error (502) when Stripe refuses (a declined upgrade payment changes nothing).
 */
export async function changePlan(
  deps: PlanChangeDeps & { graceDays: number },
  accountId: string,
  tier: TierId,
  options: { prorationDate?: number; actor: { type: "admin" | "portal"; id: string } },
): Promise<PlanChangeResult> {
  const now = new Date();
  const change = await planChangeFor(
    deps,
    accountId,
    tier,
    options.prorationDate ?? Math.floor(now.getTime() / 1000),
  );
  await dropPendingChange(deps, change.subscription);
  const subscriptionId = change.subscription.id;
  if (!change.target && change.effective === "period_end") {
    await callStripe("cancel at the period's end", deps.log, () =>
      deps.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true }),
    );
  } else if (!change.target) {
    await callStripe("cancel the subscription", deps.log, () =>
      deps.stripe.subscriptions.cancel(subscriptionId),
    );
  } else if (change.effective === "period_end") {
    await scheduleAtPeriodEnd(
      deps,
      change.subscription,
      phaseItems(change.subscription, change.target, deps.environment),
    );
  } else {
    const proration = prorationOf(change);
    await callStripe("change the plan", deps.log, () =>
      deps.stripe.subscriptions.update(subscriptionId, {
        items: itemChanges(change.subscription, change.target as { price: string }, deps.environment),
        proration_behavior: proration,
        proration_date: change.prorationDate,
        // An upgrade whose payment fails is not applied: the customer keeps the plan they paid for.
        payment_behavior: proration === "always_invoice" ? "error_if_incomplete" : "allow_incomplete",
      }),
    );
  }
  const sync = await syncCustomer(
    { ...deps, now, graceDays: deps.graceDays },
    { customerId: change.customerId, accountId, actor: options.actor },
  );
  const effectiveAt = change.effective === "now" ? now : new Date(change.periodEnd * 1000);
  return {
    from: change.from,
    to: change.to,
    effective: change.effective,
    effectiveAt: effectiveAt.toISOString(),
    sync,
  };
}

/**
 * A subscription schedule from the subscription (its current phase as it is), then a second phase from the
 * period's end with `items`, one month long (the plans' prices are monthly), released afterwards so the
 * subscription simply continues on the new plan.
 */
async function scheduleAtPeriodEnd(
  deps: PlanChangeDeps,
  subscription: Stripe.Subscription,
  items: Stripe.SubscriptionScheduleUpdateParams.Phase.Item[],
): Promise<void> {
  const schedule = await callStripe("schedule the change", deps.log, () =>
    deps.stripe.subscriptionSchedules.create({ from_subscription: subscription.id }),
  );
  const current = schedule.current_phase ?? schedule.phases[0];
  if (!current)
    throw new ApiError("payment_provider_error", { detail: "Stripe's schedule has no current phase." });
  await callStripe("schedule the change", deps.log, () =>
    deps.stripe.subscriptionSchedules.update(schedule.id, {
      end_behavior: "release",
      phases: [
        { items: currentItems(subscription), start_date: current.start_date, end_date: current.end_date },
        { items, proration_behavior: "none", duration: { interval: "month", interval_count: 1 } },
      ],
    }),
  );
}

/** Releases a schedule still managing the subscription and clears a cancel at period end. */
async function dropPendingChange(deps: CheckoutDeps, subscription: Stripe.Subscription): Promise<boolean> {
  let dropped = false;
  const scheduleId = scheduleIdOf(subscription);
  if (scheduleId) {
    await callStripe("release the scheduled change", deps.log, () =>
      deps.stripe.subscriptionSchedules.release(scheduleId),
    );
    dropped = true;
  }
  if (subscription.cancel_at_period_end || subscription.cancel_at) {
    await callStripe("keep the subscription", deps.log, () =>
      deps.stripe.subscriptions.update(subscription.id, { cancel_at_period_end: false }),
    );
    dropped = true;
  }
  return dropped;
}

/**
 * Cancels the change pending at the period's end (a scheduled downgrade or a cancellation): the
 * subscription stays on its plan. Then syncs the account.
 * @throws ApiError conflict (409) without a running subscription or when no change is pending.
 */
export async function cancelScheduledChange(
  deps: CheckoutDeps & { graceDays: number },
  accountId: string,
  actor: { type: "admin" | "portal"; id: string },
): Promise<SyncResult> {
  const { subscription, customerId } = await runningSubscription(deps, accountId);
  if (!(await dropPendingChange(deps, subscription))) {
    throw new ApiError("conflict", { detail: "No plan change is scheduled for this subscription." });
  }
  return syncCustomer(
    { ...deps, now: new Date(), graceDays: deps.graceDays },
    { customerId, accountId, actor },
  );
}
