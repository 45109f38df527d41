import type { Redis } from "@upstash/redis/cloudflare";
import type Stripe from "stripe";
import type { Account } from "../../db/schema/accounts";
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
import { withPlanChangeLock } from "./plan-change-lock";

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
 * the amount charged (https://docs.stripe.com/billing/subscriptions/prorations#preview-proration: "Stripe
 * prorates to the second ... pass the proration_date"); the date is checked first (prorationDateProblem).
 *
 * Changes of one account run one at a time (withPlanChangeLock): a double click waits for the first change,
 * then re-reads the subscription from Stripe and either repeats the same pending downgrade (200) or finds the
 * plan already held (409), instead of racing the first change at Stripe.
 */
type DowngradeTiming = "period_end" | "immediately";

export type PlanChangeDeps = CheckoutDeps & {
  downgradeTiming: DowngradeTiming;
  /** For the per-account plan-change lock (plan-change-lock.ts). */
  redis: Redis;
};

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

/** Unix seconds: the start of the current period (the latest item's, so the date is inside every item's). */
function periodStartOf(subscription: Stripe.Subscription): number {
  const starts = subscription.items.data.map((item) => item.current_period_start);
  return starts.length > 0 ? Math.max(...starts) : subscription.start_date;
}

/**
 * How old a preview's `prorationDate` may be when the change is applied: 5 minutes, time to read a preview
 * and confirm it. The date is chosen by the client, so it must be one the server could have handed out in a
 * preview lately; a longer wait previews again.
 *
 * Why a window and not a signed date (HMAC): within the window every date is at most `now`, and an upgrade
 * prorated from an earlier date costs MORE (more of the period at the higher price), so no date in the window
 * makes an upgrade cheaper than prorating from now. The one gain left is on an immediate downgrade
 * (PLAN_DOWNGRADE_TIMING=immediately), whose credit could start up to 5 minutes early: at most
 * 300 s / 30 days = 0.012% of the price difference (under one cent from pro to basic). Signing would need a
 * token beside the date in the API contract, and a secret to provision and rotate, to remove that cent.
 */
export const PRORATION_DATE_MAX_AGE_SECONDS = 300;

/**
 * Why `prorationDate` (Unix seconds, from a preview) cannot be used at `now`, or null when it can: it must
 * not be in the future, be at most PRORATION_DATE_MAX_AGE_SECONDS old, and lie inside the current period
 * (Stripe refuses a date outside it: "Cannot specify proration date outside of current subscription period").
 */
export function prorationDateProblem(
  prorationDate: number,
  period: { start: number; end: number },
  now: Date,
): string | null {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (prorationDate > nowSeconds) return "its prorationDate is in the future";
  if (nowSeconds - prorationDate > PRORATION_DATE_MAX_AGE_SECONDS) {
    return `its prorationDate is more than ${PRORATION_DATE_MAX_AGE_SECONDS / 60} minutes old`;
  }
  if (prorationDate < period.start || prorationDate > period.end) {
    return "its prorationDate is outside the subscription's current period";
  }
  return null;
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
  return { subscription, customerId, account };
}

const pendingChangeOf = (subscription: Stripe.Subscription) =>
  scheduleIdOf(subscription) !== null || subscription.cancel_at_period_end || subscription.cancel_at !== null;

/** Where a client cancels a pending change: the route of its own surface. */
const keepPlanHint = (surface: "admin" | "portal", accountId: string) =>
  surface === "admin"
    ? `DELETE /admin/v1/accounts/${accountId}/plan-change`
    : 'DELETE /portal/api/billing/plan-change (or "Keep my current plan" on the billing page)';

/** The 409 for the plan already held; with a change pending, what is pending and how to keep the plan. */
function alreadyOnPlan(
  tier: TierId,
  subscription: Stripe.Subscription,
  account: Account,
  surface: "admin" | "portal",
): ApiError {
  if (!pendingChangeOf(subscription)) {
    return new ApiError("conflict", { detail: `The subscription is already on the ${tier} plan.` });
  }
  const to = account.scheduledTier ?? (subscription.cancel_at_period_end ? "free" : "another plan");
  const at = account.scheduledChangeAt ?? new Date(periodEndOf(subscription) * 1000);
  return new ApiError("conflict", {
    detail:
      `The subscription is on the ${tier} plan, and a change to ${to} is scheduled for ${at.toISOString()}. ` +
      `To keep the ${tier} plan, cancel that change: ${keepPlanHint(surface, account.id)}.`,
  });
}

/** The change that moves the account's subscription to `tier`, from the subscription as Stripe has it now. */
async function planChangeFor(
  deps: PlanChangeDeps,
  accountId: string,
  tier: TierId,
  prorationDate: number,
  surface: "admin" | "portal",
): Promise<PlanChange> {
  const target = tier === "free" ? null : checkoutPrices(tier, deps.environment);
  if (tier !== "free" && !target) {
    throw new ApiError("conflict", {
      detail: `The ${tier} tier is not for sale in ${deps.environment} mode: plans.ts lists no Stripe price for it.`,
    });
  }
  const { subscription, customerId, account } = await runningSubscription(deps, accountId);
  const from = currentTier(subscription, deps.environment) ?? "free";
  if (from === tier) throw alreadyOnPlan(tier, subscription, account, surface);
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

/**
 * What moving to `tier` would cost, from Stripe's invoice preview. Its `prorationDate` (now, Unix seconds) is
 * what changePlan accepts back for PRORATION_DATE_MAX_AGE_SECONDS. `surface` names the cancel route in a 409.
 */
export async function previewPlanChange(
  deps: PlanChangeDeps,
  accountId: string,
  tier: TierId,
  surface: "admin" | "portal" = "portal",
): Promise<PlanChangePreview> {
  const now = new Date();
  const change = await planChangeFor(deps, accountId, tier, Math.floor(now.getTime() / 1000), surface);
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

/** How a change was asked for: the preview's proration date (Unix seconds; none: now) and who asked. */
export interface PlanChangeOptions {
  prorationDate?: number;
  actor: { type: "admin" | "portal"; id: string };
}

/**
 * Moves the account's subscription to `tier` (now, or at the period's end: see the module's rules), then
 * syncs the account from Stripe at once (the webhook that follows finds the same state), so new limits or
 * the pending change show on the next request.
 * Runs under the account's plan-change lock (withPlanChangeLock), so a second identical request waits and
 * then sees the first one's result.
 * `options.prorationDate`: Unix seconds, a preview's; without it, now.
 * @throws ApiError conflict (409) without a running subscription, for the current plan (naming a pending
 *   change and how to cancel it), or for a prorationDate no recent preview could have given ("preview
 *   again": prorationDateProblem); payment_provider_error (502) when Stripe refuses (a declined upgrade
 *   payment changes nothing).
 */
export function changePlan(
  deps: PlanChangeDeps & { graceDays: number },
  accountId: string,
  tier: TierId,
  options: PlanChangeOptions,
): Promise<PlanChangeResult> {
  return withPlanChangeLock(deps.redis, accountId, () => applyPlanChange(deps, accountId, tier, options));
}

async function applyPlanChange(
  deps: PlanChangeDeps & { graceDays: number },
  accountId: string,
  tier: TierId,
  options: PlanChangeOptions,
): Promise<PlanChangeResult> {
  const now = new Date();
  const change = await planChangeFor(
    deps,
    accountId,
    tier,
    options.prorationDate ?? Math.floor(now.getTime() / 1000),
    options.actor.type,
  );
  const period = { start: periodStartOf(change.subscription), end: change.periodEnd };
  const problem = prorationDateProblem(change.prorationDate, period, now);
  if (problem) {
    throw new ApiError("conflict", {
      detail: `The preview expired (${problem}): preview again, then confirm the new preview.`,
    });
  }
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
export function cancelScheduledChange(
  deps: CheckoutDeps & { graceDays: number; redis: Redis },
  accountId: string,
  actor: { type: "admin" | "portal"; id: string },
): Promise<SyncResult> {
  // Under the plan-change lock: a second click finds nothing pending (409) instead of releasing twice.
  return withPlanChangeLock(deps.redis, accountId, async () => {
    const { subscription, customerId } = await runningSubscription(deps, accountId);
    if (!(await dropPendingChange(deps, subscription))) {
      throw new ApiError("conflict", { detail: "No plan change is scheduled for this subscription." });
    }
    return syncCustomer(
      { ...deps, now: new Date(), graceDays: deps.graceDays },
      { customerId, accountId, actor },
    );
  });
}
