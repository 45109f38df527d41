import { and, eq, isNull } from "drizzle-orm";
import type Stripe from "stripe";
import type { Database } from "../db/client";
import { type Account, accounts } from "../db/schema/accounts";
import { getAccount } from "../keys/account-service";
import { ApiError } from "../lib/errors";
import type { Logger } from "../lib/log";
import { checkoutPrices, type PriceEnvironment, type TierId } from "../plans/plans";
import { hasOngoingSubscription } from "./billing-state";
import { callStripe } from "./stripe-errors";

/**
 * Self-serve purchase: Stripe Checkout to subscribe, the Stripe billing portal to change or cancel. The
 * admin API calls these now; the portal will, behind a developer's session. Neither changes a tier: only
 * the webhook does, once Stripe says the customer paid.
 */
export interface CheckoutDeps {
  db: Database;
  stripe: Stripe;
  environment: PriceEnvironment;
  /** PORTAL_URL, or the gateway's own origin: where Stripe sends the customer back. */
  portalBase: string;
  log?: Logger;
}

const billingPage = (portalBase: string) => `${portalBase.replace(/\/+$/, "")}/portal/billing`;

export async function createCheckoutSession(
  deps: CheckoutDeps,
  accountId: string,
  tier: TierId,
): Promise<{ id: string; url: string }> {
  const prices = checkoutPrices(tier, deps.environment);
  if (!prices) {
    throw new ApiError("conflict", {
      detail: `The ${tier} tier is not for sale in ${deps.environment} mode: plans.ts lists no Stripe price for it.`,
    });
  }
  const account = await getAccount(deps, accountId);
  if (hasOngoingSubscription(account)) {
    throw new ApiError("conflict", {
      detail: "The account already has a subscription; change or cancel it in the billing portal.",
    });
  }
  const customer = await ensureStripeCustomer(deps, account);
  const page = billingPage(deps.portalBase);
  const reference = { account_id: account.id, tier };
  const session = await callStripe("create a Checkout session", deps.log, () =>
    deps.stripe.checkout.sessions.create({
      mode: "subscription",
      customer,
      client_reference_id: account.id,
      line_items: [
        { price: prices.price, quantity: 1 },
        // A metered price takes no quantity: the meter events reported for the customer are its quantity.
        ...(prices.metered ? [{ price: prices.metered }] : []),
      ],
      // {CHECKOUT_SESSION_ID} is Stripe's placeholder, filled in on redirect (so not URL-encoded here).
      success_url: `${page}?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${page}?checkout=cancelled`,
      // The webhook's fallbacks when the subscription's price cannot be read, or the customer is not yet linked.
      metadata: reference,
      subscription_data: { metadata: reference },
    }),
  );
  if (!session.url)
    throw new ApiError("payment_provider_error", { detail: "Stripe returned no Checkout URL." });
  return { id: session.id, url: session.url };
}

export async function createBillingPortalSession(
  deps: CheckoutDeps,
  accountId: string,
): Promise<{ url: string }> {
  const account = await getAccount(deps, accountId);
  if (!account.stripeCustomerId) {
    throw new ApiError("conflict", {
      detail: "The account has no Stripe customer yet: it needs a checkout before the billing portal.",
    });
  }
  const customer = account.stripeCustomerId;
  const session = await callStripe("create a billing portal session", deps.log, () =>
    deps.stripe.billingPortal.sessions.create({ customer, return_url: billingPage(deps.portalBase) }),
  );
  return { url: session.url };
}

/**
 * The account's Stripe customer, created on first use. The idempotency key makes two concurrent first
 * checkouts get the same customer from Stripe, and the conditional update keeps whichever was stored first.
 */
async function ensureStripeCustomer(deps: CheckoutDeps, account: Account): Promise<string> {
  if (account.stripeCustomerId) return account.stripeCustomerId;
  const customer = await callStripe("create a customer", deps.log, () =>
    deps.stripe.customers.create(
      { email: account.email, metadata: { account_id: account.id } },
      { idempotencyKey: `gateway-customer-${account.id}` },
    ),
  );
  const [stored] = await deps.db
    .update(accounts)
    .set({ stripeCustomerId: customer.id })
    .where(and(eq(accounts.id, account.id), isNull(accounts.stripeCustomerId)))
    .returning({ customerId: accounts.stripeCustomerId });
  if (stored?.customerId) return stored.customerId;
  const [current] = await deps.db
    .select({ customerId: accounts.stripeCustomerId })
    .from(accounts)
    .where(eq(accounts.id, account.id));
  return current?.customerId ?? customer.id;
}
