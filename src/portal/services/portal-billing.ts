import { billingDeps } from "../../billing/checkout/billing-deps";
import { createBillingPortalSession, createCheckoutSession } from "../../billing/checkout/checkout";
import {
  cancelScheduledChange,
  changePlan,
  type PlanChangePreview,
  previewPlanChange,
} from "../../billing/checkout/plan-change";
import { publishCommittedTier } from "../../billing/stripe/account-publish";
import type { Account } from "../../db/schema/accounts";
import { DAY_MS } from "../../lib/time";
import { isTierId, planFor, purchasableTiers, type TierId } from "../../plans/plans";
import { type PortalCaller, sessionOf } from "./portal-deps";

/** What the billing page and GET /portal/api/billing show: the plan, the subscription's state, what is for sale. */
export interface BillingSummary {
  tier: string;
  plan: { name: string; price: string; monthlyQuota: number };
  subscriptionStatus: string | null;
  /** Set while a payment is failing: the tier is kept for the grace period, then drops to free. */
  pastDueSince: string | null;
  /** When a past-due account loses its tier, unless a payment succeeds first. */
  downgradeAt: string | null;
  /** Tiers Checkout can sell here (other than the current one). */
  upgrades: Array<{ tier: TierId; name: string; price: string }>;
  /** A Stripe customer exists, so the billing portal can open. */
  canManage: boolean;
  /** A running subscription: other plans are reached by a plan change (with a preview), not a Checkout. */
  subscribed: boolean;
  /** When the subscription ends (cancelled at period end). */
  cancelAt: string | null;
  /** A payment waits for the developer's authentication (3-D Secure) in the billing portal. */
  paymentActionRequired: boolean;
  /** A change Stripe makes at the period's end (a scheduled downgrade; `free`: the subscription ends). */
  scheduledChange: { tier: TierId; name: string; at: string } | null;
}

const RUNNING = new Set(["active", "trialing", "past_due"]);

export function billingSummary(
  account: Account,
  config: { keyEnvironment: "live" | "test"; pastDueGraceDays: number },
): BillingSummary {
  const plan = planFor(account.tier);
  const pastDue = account.pastDueSince;
  return {
    tier: account.tier,
    plan: { name: plan.name, price: plan.display.price, monthlyQuota: plan.monthlyQuota },
    subscriptionStatus: account.subscriptionStatus,
    pastDueSince: pastDue ? pastDue.toISOString() : null,
    downgradeAt: pastDue
      ? new Date(pastDue.getTime() + config.pastDueGraceDays * DAY_MS).toISOString()
      : null,
    upgrades: purchasableTiers(config.keyEnvironment)
      .filter((tier) => tier !== (account.subscribedTier ?? account.tier))
      .map((tier) => ({ tier, name: planFor(tier).name, price: planFor(tier).display.price })),
    canManage: account.stripeCustomerId !== null,
    subscribed:
      account.stripeSubscriptionId !== null &&
      RUNNING.has(account.subscriptionStatus ?? "") &&
      !!account.subscribedTier,
    cancelAt: account.subscriptionCancelAt ? account.subscriptionCancelAt.toISOString() : null,
    paymentActionRequired: account.paymentActionInvoiceId !== null,
    scheduledChange:
      account.scheduledTier && account.scheduledChangeAt && isTierId(account.scheduledTier)
        ? {
            tier: account.scheduledTier,
            name: planFor(account.scheduledTier).name,
            at: account.scheduledChangeAt.toISOString(),
          }
        : null,
  };
}

/**
 * Stripe and Postgres for the signed-in developer's checkout or billing-portal session (src/billing), and who
 * that developer is. Stripe is read first: without STRIPE_SECRET_KEY the answer is 503 before anything else.
 */
function checkoutDeps(caller: PortalCaller) {
  return { deps: billingDeps(caller.services), accountId: sessionOf(caller).accountId };
}

/** A Stripe Checkout URL for `tier`; the tier itself changes only when Stripe's webhook confirms payment. */
export async function checkoutUrl(caller: PortalCaller, tier: TierId): Promise<string> {
  const { deps, accountId } = checkoutDeps(caller);
  return (await createCheckoutSession(deps, accountId, tier)).url;
}

/** What moving the signed-in developer's subscription to `tier` costs (Stripe's invoice preview). */
export function planChangePreview(caller: PortalCaller, tier: TierId): Promise<PlanChangePreview> {
  const { deps, accountId } = checkoutDeps(caller);
  return previewPlanChange(deps, accountId, tier);
}

/** Applies the plan change previewed at `prorationDate`; the new tier reaches the edge before this returns. */
export async function applyPlanChange(caller: PortalCaller, tier: TierId, prorationDate?: number) {
  const { deps, accountId } = checkoutDeps(caller);
  const result = await changePlan(deps, accountId, tier, {
    prorationDate,
    actor: { type: "portal", id: accountId },
  });
  await publishCommittedTier(deps.db, caller.services.redis, accountId);
  return result;
}

/** A Stripe billing portal URL: card, invoices, cancel. */
export async function billingPortalUrl(caller: PortalCaller): Promise<string> {
  const { deps, accountId } = checkoutDeps(caller);
  return (await createBillingPortalSession(deps, accountId)).url;
}

/**
 * Origins a billing form may be redirected to, for the pages' CSP form-action (Chromium applies form-action
 * to a form's redirects too): Stripe's hosted pages, or the stand-in STRIPE_API_BASE points at locally.
 */
export function billingRedirectOrigins(stripeApiBase: string): string[] {
  const base = new URL(stripeApiBase);
  if (base.hostname === "api.stripe.com")
    return ["https://checkout.stripe.com", "https://billing.stripe.com"];
  return [base.origin];
}

/** Cancels the change pending at the period's end; the subscription keeps its plan. */
export async function cancelPendingPlanChange(caller: PortalCaller): Promise<void> {
  const { deps, accountId } = checkoutDeps(caller);
  await cancelScheduledChange(deps, accountId, { type: "portal", id: accountId });
  await publishCommittedTier(deps.db, caller.services.redis, accountId);
}
