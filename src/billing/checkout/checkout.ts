import { and, eq, isNull } from "drizzle-orm";
import type Stripe from "stripe";
import type { Database } from "../../db/client";
import { type Account, accounts } from "../../db/schema/accounts";
import { getAccount } from "../../keys/account-service";
import { ApiError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { checkoutPrices, type PriceEnvironment, type TierId } from "../../plans/plans";
import { callStripe } from "../stripe/stripe-errors";
import { isEnded } from "../webhooks/entitlement";
import { isMissing, readCustomerState } from "../webhooks/stripe-customer-state";

/**
 * Self-serve purchase: Stripe Checkout to subscribe, the Stripe billing portal for cards, invoices and
 * cancelling. Neither changes a tier: only the webhook does, once Stripe says the customer paid.
 */
export interface CheckoutDeps {
  db: Database;
  stripe: Stripe;
  environment: PriceEnvironment;
  /** publicBaseUrl() (PORTAL_URL, else locally the request's origin): where Stripe sends the customer back. */
  portalBase: string;
  log?: Logger;
}

const billingPage = (portalBase: string) => `${portalBase.replace(/\/+$/, "")}/portal/billing`;

/**
 * A Checkout session for `tier`.
 *
 * One subscription per account, by design: Checkout is refused (409, with the billing page to manage the
 * existing one) while the customer has ANY subscription that has not ended, `incomplete` included, as Stripe
 * says at this moment (not as the last webhook said). Other open Checkout sessions of the customer are
 * expired first, so a second tab or a double click cannot pay twice.
 *
 * @throws ApiError conflict (409) when the tier is not for sale or a subscription exists;
 *   payment_provider_error (502) when Stripe fails.
 */
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
  const page = billingPage(deps.portalBase);
  const customer = await liveCustomer(deps, account);
  if (customer.subscriptions.some((subscription) => !isEnded(subscription.status))) {
    throw new ApiError("conflict", {
      detail:
        "The account already has a subscription (it may still await its first payment). Change or cancel it from the billing page.",
      extensions: { manageBilling: page },
    });
  }
  await expireOpenSessions(deps, customer.id);
  const reference = { account_id: account.id, tier };
  const session = await callStripe("create a Checkout session", deps.log, () =>
    deps.stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      client_reference_id: account.id,
      line_items: [
        { price: prices.price, quantity: 1 },
        // A metered price takes no quantity: the meter events reported for the customer are its quantity.
        ...(prices.metered ? [{ price: prices.metered }] : []),
      ],
      // {CHECKOUT_SESSION_ID} is Stripe's placeholder, filled in on redirect (so not URL-encoded here).
      success_url: `${page}?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${page}?checkout=cancelled`,
      metadata: reference,
      subscription_data: { metadata: reference },
    }),
  );
  if (!session.url)
    throw new ApiError("payment_provider_error", { detail: "Stripe returned no Checkout URL." });
  return { id: session.id, url: session.url };
}

/**
 * The billing portal for the account's customer.
 * @throws ApiError conflict (409) when the account has no Stripe customer, or Stripe no longer knows it (it
 *   is then forgotten, so the next Checkout creates a new one instead of failing forever).
 */
export async function createBillingPortalSession(
  deps: CheckoutDeps,
  accountId: string,
): Promise<{ url: string }> {
  const account = await getAccount(deps, accountId);
  const noCustomer = () =>
    new ApiError("conflict", {
      detail: "The account has no Stripe customer yet: subscribe to a plan first.",
    });
  const customer = account.stripeCustomerId;
  if (!customer) throw noCustomer();
  try {
    const session = await deps.stripe.billingPortal.sessions.create({
      customer,
      return_url: billingPage(deps.portalBase),
    });
    return { url: session.url };
  } catch (error) {
    if (isMissing(error)) {
      await forgetCustomer(deps.db, account.id, customer);
      throw noCustomer();
    }
    return callStripe("create a billing portal session", deps.log, () => Promise.reject(error));
  }
}

/**
 * The account's Stripe customer and its subscriptions, as Stripe has them. A stored customer that Stripe
 * answers `resource_missing` for (deleted, or the local stand-in was reset) is replaced by a new one.
 */
async function liveCustomer(deps: CheckoutDeps, account: Account) {
  if (account.stripeCustomerId) {
    const state = await callStripe("read the customer's subscriptions", deps.log, () =>
      readCustomerState(deps.stripe, account.stripeCustomerId as string),
    );
    if (state.exists) return { id: account.stripeCustomerId, subscriptions: state.subscriptions };
    deps.log?.info("stored stripe customer no longer exists; creating a new one", { accountId: account.id });
    await forgetCustomer(deps.db, account.id, account.stripeCustomerId);
  }
  return { id: await createCustomer(deps, account), subscriptions: [] };
}

/** Clears a customer id only if it is still the stored one (a concurrent replacement wins). */
async function forgetCustomer(db: Database, accountId: string, customerId: string): Promise<void> {
  await db
    .update(accounts)
    .set({ stripeCustomerId: null })
    .where(and(eq(accounts.id, accountId), eq(accounts.stripeCustomerId, customerId)));
}

/**
 * A new Stripe customer for the account. The idempotency key (the account as last written: any change, such
 * as forgetting a deleted customer, makes a new key) makes two concurrent first checkouts get the same
 * customer from Stripe, and the conditional update keeps whichever was stored first.
 */
async function createCustomer(deps: CheckoutDeps, account: Account): Promise<string> {
  const generation = `${account.updatedAt.getTime()}-${account.stripeCustomerId ?? "none"}`;
  const customer = await callStripe("create a customer", deps.log, () =>
    deps.stripe.customers.create(
      { email: account.email, metadata: { account_id: account.id } },
      { idempotencyKey: `gateway-customer-${account.id}-${generation}` },
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

async function expireOpenSessions(deps: CheckoutDeps, customer: string): Promise<void> {
  const open = await callStripe("list open Checkout sessions", deps.log, () =>
    deps.stripe.checkout.sessions.list({ customer, status: "open", limit: 100 }),
  );
  for (const session of open.data) {
    await callStripe("expire an open Checkout session", deps.log, () =>
      deps.stripe.checkout.sessions.expire(session.id),
    ).catch(() => {
      // Completed meanwhile: the subscription check of the next attempt sees it.
    });
  }
}
