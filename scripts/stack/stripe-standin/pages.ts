import { expireCheckoutSession, publicSession } from "./api.ts";
import {
  attemptPayment,
  cancelSubscription,
  createCustomer,
  createSubscription,
  type Engine,
  isEnded,
  itemsOf,
  requirePrice,
  updateCustomer,
  updateSubscription,
} from "./billing.ts";
import type { StandinPrice } from "./catalog.ts";
import type { Reply } from "./errors.ts";
import type { StripeObject } from "./store.ts";

/**
 * The stand-in's hosted pages, in place of checkout.stripe.com and billing.stripe.com: a Checkout page whose
 * buttons pay (Stripe's test card 4242…), fail 3-D Secure or leave, and a billing-portal page that cancels
 * (at period end or now), renews, or changes the card. Each button changes the stand-in's state exactly as
 * Stripe's page would, so the same events reach the gateway's webhook.
 *
 * Plan changes are not offered in the billing portal, as docs/DEPLOY.md configures Stripe's: Stripe's
 * portal cannot update a subscription holding a usage-based price, so the gateway's own billing page makes
 * plan changes through the Subscriptions API.
 */
export type Page = Reply & { html?: string; location?: string };

const TEST_CARD = "pm_card_visa";
const THREE_D_SECURE_CARD = "pm_card_authenticationRequired";
const DECLINED_CARD = "pm_card_chargeCustomerFail";

export function checkoutPage(engine: Engine, id: string, error?: string): Page {
  const session = engine.data.checkoutSessions[id];
  if (!session) return html(404, "Checkout", "<p>This Checkout page does not exist.</p>");
  if (session.status !== "open") {
    const back = (session.status === "complete" ? session.success_url : session.cancel_url) as string | null;
    return html(
      200,
      "Checkout",
      `<p>This Checkout session is ${esc(String(session.status))}.</p>${back ? `<p><a href="${esc(fillSession(back, id))}">Return to the site</a></p>` : ""}`,
    );
  }
  const lines = (session.line_items as { data: Array<{ price: string; quantity: number | null }> }).data;
  const rows = lines
    .map(({ price: priceId }) => {
      const price = engine.prices.get(priceId) as StandinPrice;
      return `<tr><td>${esc(price.nickname)}</td><td>${esc(describePrice(price))}</td></tr>`;
    })
    .join("");
  const email = customerEmail(engine, session);
  const action = `/c/pay/${esc(id)}`;
  const body = `
<p class="muted">Test mode · local Stripe stand-in</p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ""}
<table><thead><tr><th>Item</th><th>Price</th></tr></thead><tbody>${rows}</tbody></table>
<p>Email: <strong>${esc(email ?? "(asked by Stripe)")}</strong></p>
<form method="post" action="${action}"><input type="hidden" name="card" value="${TEST_CARD}">
<button type="submit" id="pay">Pay and subscribe (card 4242 4242 4242 4242)</button></form>
<form method="post" action="${action}"><input type="hidden" name="card" value="${THREE_D_SECURE_CARD}">
<button type="submit" id="fail-3ds" class="secondary">Pay with a card whose 3-D Secure check fails</button></form>
<form method="post" action="${action}"><input type="hidden" name="card" value="${DECLINED_CARD}">
<button type="submit" id="decline" class="secondary">Pay with a card that is declined</button></form>
<form method="post" action="${action}/expire"><button type="submit" id="expire" class="secondary">Abandon: expire this session</button></form>
${session.cancel_url ? `<p><a id="back" href="${esc(session.cancel_url as string)}">← Back</a></p>` : ""}`;
  return html(200, "Checkout", body);
}

/** The customer presses a pay button: the subscription is created (or its first invoice retried) with `card`. */
export function submitCheckout(engine: Engine, id: string, card: string): Page {
  const session = engine.data.checkoutSessions[id];
  if (session?.status !== "open") return checkoutPage(engine, id);
  let customer = session.customer ? engine.data.customers[session.customer as string] : undefined;
  if (!customer || customer.deleted) {
    customer = createCustomer(engine, {
      email: (session.customer_email as string | null) ?? undefined,
      metadata: {},
    });
    session.customer = customer.id;
  }
  let subscription = session.subscription
    ? engine.data.subscriptions[session.subscription as string]
    : undefined;
  if (!subscription) {
    const lines = (session.line_items as { data: Array<{ price: string; quantity: number | null }> }).data;
    subscription = createSubscription(engine, {
      customer,
      items: lines.map((item) => ({
        price: requirePrice(engine, item.price, "price"),
        quantity: item.quantity ?? undefined,
      })),
      metadata: (session.subscription_data as { metadata: Record<string, string> }).metadata,
      paymentBehavior: "default_incomplete",
    });
    session.subscription = subscription.id;
  }
  const invoice = engine.data.invoices[subscription.latest_invoice as string] as StripeObject;
  const outcome = attemptPayment(engine, invoice, card);
  if (outcome === "requires_action") {
    // The customer's bank refused the 3-D Secure challenge: the payment fails, the session stays open.
    engine.emit("invoice.payment_failed", invoice);
    return {
      ...checkoutPage(
        engine,
        id,
        "We are unable to authenticate your payment method. Please choose a different payment method and try again.",
      ),
      status: 402,
    };
  }
  if (outcome === "declined") {
    return {
      ...checkoutPage(engine, id, "Your card was declined. Please try a different card."),
      status: 402,
    };
  }
  subscription.default_payment_method = card;
  updateCustomer(engine, customer, card);
  session.status = "complete";
  session.payment_status = "paid";
  engine.emit("checkout.session.completed", publicSession(session));
  return redirect(fillSession(session.success_url as string, id));
}

export function abandonCheckout(engine: Engine, id: string): Page {
  const session = engine.data.checkoutSessions[id];
  if (session?.status !== "open") return checkoutPage(engine, id);
  expireCheckoutSession(engine, id);
  return session.cancel_url ? redirect(session.cancel_url as string) : checkoutPage(engine, id);
}

export function portalPage(engine: Engine, id: string, notice?: string): Page {
  const session = engine.data.portalSessions[id];
  if (!session) return html(404, "Billing", "<p>This billing portal session does not exist.</p>");
  const customer = engine.data.customers[session.customer as string];
  if (!customer || customer.deleted) return html(410, "Billing", "<p>This customer no longer exists.</p>");
  const subscriptions = Object.values(engine.data.subscriptions)
    .filter((subscription) => subscription.customer === customer.id)
    .reverse();
  const base = `/p/session/${esc(id)}`;
  const cards = subscriptions
    .map((subscription) => {
      const names = itemsOf(subscription)
        .map((item) => esc(describeItem(item.price as StandinPrice)))
        .join(" + ");
      const end = itemsOf(subscription)[0]?.current_period_end as number | undefined;
      const actions = isEnded(subscription)
        ? ""
        : subscription.cancel_at_period_end
          ? button(`${base}/subscriptions/${subscription.id}/renew`, "Don't cancel", "renew")
          : button(
              `${base}/subscriptions/${subscription.id}/cancel?at=period_end`,
              "Cancel at the end of the period",
              "cancel-at-period-end",
            ) + button(`${base}/subscriptions/${subscription.id}/cancel?at=now`, "Cancel now", "cancel-now");
      return `<section class="card" data-subscription="${esc(subscription.id)}">
<h2>${names}</h2>
<p>Status: <strong class="status">${esc(String(subscription.status))}</strong>${subscription.cancel_at_period_end && end ? ` · cancels on ${new Date(end * 1000).toISOString().slice(0, 10)}` : end && !isEnded(subscription) ? ` · renews on ${new Date(end * 1000).toISOString().slice(0, 10)}` : ""}</p>
${actions}</section>`;
    })
    .join("");
  const method = (customer.invoice_settings as { default_payment_method: string | null })
    .default_payment_method;
  const body = `
<p class="muted">Test mode · local Stripe stand-in · ${esc(String(customer.email ?? customer.id))}</p>
${notice ? `<p class="notice" role="status">${esc(notice)}</p>` : ""}
${cards || "<p>No subscriptions.</p>"}
<section class="card"><h2>Payment method</h2><p>${esc(method ?? "none")}</p>
${button(`${base}/payment-method?card=${TEST_CARD}`, "Use card 4242 4242 4242 4242 (pays open invoices)", "card-ok")}
${button(`${base}/payment-method?card=${DECLINED_CARD}`, "Use a card that is declined", "card-declined")}
</section>
<p class="muted">Plan changes are made on the API's own billing page.</p>
${session.return_url ? `<p><a id="return" href="${esc(session.return_url as string)}">← Return</a></p>` : ""}`;
  return html(200, "Billing", body);
}

export function portalAction(engine: Engine, id: string, path: string, query: URLSearchParams): Page {
  const session = engine.data.portalSessions[id];
  if (!session) return portalPage(engine, id);
  const customerId = session.customer as string;
  const base = `/p/session/${id}`;
  const match = /^\/subscriptions\/([^/]+)\/(cancel|renew)$/.exec(path);
  if (match) {
    const subscription = engine.data.subscriptions[match[1] as string];
    if (!subscription || subscription.customer !== customerId || isEnded(subscription))
      return portalPage(engine, id);
    if (match[2] === "renew") updateSubscription(engine, subscription, { cancelAtPeriodEnd: false });
    else if (query.get("at") === "now") cancelSubscription(engine, subscription);
    else updateSubscription(engine, subscription, { cancelAtPeriodEnd: true });
    return redirect(base);
  }
  if (path === "/payment-method") {
    const customer = engine.data.customers[customerId] as StripeObject;
    const card = query.get("card") ?? TEST_CARD;
    updateCustomer(engine, customer, card);
    // Like Stripe's portal: a new card pays the customer's open subscription invoices.
    for (const subscription of Object.values(engine.data.subscriptions)) {
      if (subscription.customer !== customerId || isEnded(subscription)) continue;
      subscription.default_payment_method = card;
      const invoice = engine.data.invoices[subscription.latest_invoice as string];
      if (invoice?.status === "open") attemptPayment(engine, invoice, card);
    }
    return redirect(base);
  }
  return portalPage(engine, id);
}

function customerEmail(engine: Engine, session: StripeObject): string | null {
  if (session.customer)
    return (engine.data.customers[session.customer as string]?.email as string | null) ?? null;
  return (session.customer_email as string | null) ?? null;
}

const fillSession = (url: string, id: string) => url.replaceAll("{CHECKOUT_SESSION_ID}", id);

function describePrice(price: StandinPrice): string {
  if (price.recurring.usage_type === "metered")
    return `$${(Number(price.unit_amount_decimal) / 100).toFixed(4)} per unit, billed monthly`;
  return `$${((price.unit_amount ?? 0) / 100).toFixed(2)} / month`;
}

const describeItem = (price: StandinPrice) => `${price.nickname} (${describePrice(price)})`;

const button = (action: string, label: string, id: string) =>
  `<form method="post" action="${esc(action)}"><button type="submit" id="${esc(id)}">${esc(label)}</button></form>`;

const redirect = (location: string): Page => ({ status: 303, body: "", location });

function html(status: number, title: string, body: string): Page {
  return {
    status,
    body: "",
    html: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)} · Stripe (local)</title>
<style>body{font:16px system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}button{margin:.25rem 0;padding:.5rem 1rem}
.card{border:1px solid #ccc;border-radius:8px;padding:1rem;margin:1rem 0}.muted{color:#666}.error{color:#b00020}table{border-collapse:collapse}td,th{padding:.25rem .75rem;text-align:left}</style>
</head><body><h1>${esc(title)}</h1>${body}</body></html>`,
  };
}

export function esc(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
