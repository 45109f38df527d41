import type { StandinPrice } from "./catalog.ts";
import { invalid, noSuch, StripeApiError } from "./errors.ts";
import { enterNextPhase } from "./schedules.ts";
import { clone, nowSeconds, randomId, type StandinData, type StripeObject } from "./store.ts";

/**
 * Stripe Billing's behaviour, small: customers, subscriptions with items, invoices and their payment, and
 * the events Stripe sends about each change (snapshot events with `previous_attributes`, API 2026-10-28
 * shapes: periods on items, `invoice.parent.subscription_details`). Payments are decided by Stripe's test
 * payment methods (`pm_card_visa` pays, `pm_card_chargeCustomerFail` is declined,
 * `pm_card_authenticationRequired` needs 3-D Secure), so the same inputs give Stripe's outcomes.
 */
export interface Engine {
  data: StandinData;
  prices: Map<string, StandinPrice>;
  livemode: boolean;
  /** Records an event (a snapshot of `object` now) and hands it to the webhook sender. */
  emit(type: string, object: StripeObject, previous?: Record<string, unknown>): void;
}

export const PERIOD_SECONDS = 30 * 86_400;
/** Renewals a past-due invoice gets before the subscription becomes `unpaid` (Stripe's default retry schedule). */
const RETRIES_BEFORE_UNPAID = 4;
const ENDED = new Set(["canceled", "incomplete_expired"]);

type PaymentOutcome = "succeeded" | "declined" | "requires_action";

const DECLINING = new Set([
  "pm_card_chargeCustomerFail",
  "pm_card_visa_chargeDeclined",
  "pm_card_chargeDeclined",
]);
const AUTHENTICATING = new Set(["pm_card_authenticationRequired", "pm_card_threeDSecure2Required"]);

function outcomeOf(paymentMethod: string | null | undefined): PaymentOutcome {
  if (!paymentMethod) return "declined";
  if (DECLINING.has(paymentMethod)) return "declined";
  if (AUTHENTICATING.has(paymentMethod)) return "requires_action";
  return "succeeded";
}

export function isEnded(subscription: StripeObject): boolean {
  return ENDED.has(subscription.status as string);
}

export function requirePrice(engine: Engine, id: unknown, param: string): StandinPrice {
  const price = typeof id === "string" ? engine.prices.get(id) : undefined;
  if (!price) throw noSuch("price", String(id), param, 400);
  return price;
}

export function requireCustomer(engine: Engine, id: unknown, param = "customer"): StripeObject {
  if (id === undefined || id === "")
    throw new StripeApiError(400, `Missing required param: ${param}.`, { param, code: "parameter_missing" });
  const customer = typeof id === "string" ? engine.data.customers[id] : undefined;
  if (!customer || customer.deleted) throw noSuch("customer", String(id), param, 400);
  return customer;
}

export function requireSubscription(engine: Engine, id: string): StripeObject {
  const subscription = engine.data.subscriptions[id];
  if (!subscription) throw noSuch("subscription", id);
  return subscription;
}

// ---------------------------------------------------------------------------------------------------------
// Customers
// ---------------------------------------------------------------------------------------------------------

export function createCustomer(
  engine: Engine,
  input: { email?: string; name?: string; metadata: Record<string, string>; paymentMethod?: string },
): StripeObject {
  const customer: StripeObject = {
    id: randomId("cus"),
    object: "customer",
    created: nowSeconds(),
    email: input.email ?? null,
    name: input.name ?? null,
    metadata: input.metadata,
    invoice_settings: { default_payment_method: input.paymentMethod ?? null },
    livemode: engine.livemode,
  };
  engine.data.customers[customer.id] = customer;
  engine.emit("customer.created", customer);
  return customer;
}

export function updateCustomer(
  engine: Engine,
  customer: StripeObject,
  paymentMethod: string | undefined,
): void {
  if (paymentMethod === undefined) return;
  const previous = { invoice_settings: clone(customer.invoice_settings) };
  customer.invoice_settings = { default_payment_method: paymentMethod };
  engine.emit("customer.updated", customer, previous);
}

/** Like Stripe: deleting a customer cancels its subscriptions at once; retrieving it then answers `deleted`. */
export function deleteCustomer(engine: Engine, id: string): StripeObject {
  const customer = engine.data.customers[id];
  if (!customer || customer.deleted) throw noSuch("customer", id);
  for (const subscription of Object.values(engine.data.subscriptions)) {
    if (subscription.customer === id && !isEnded(subscription)) cancelSubscription(engine, subscription);
  }
  const gone: StripeObject = { id, object: "customer", deleted: true };
  engine.emit("customer.deleted", customer);
  engine.data.customers[id] = gone;
  return gone;
}

// ---------------------------------------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------------------------------------

export function newItem(
  price: StandinPrice,
  subscriptionId: string,
  start: number,
  quantity?: number,
): StripeObject {
  return {
    id: randomId("si"),
    object: "subscription_item",
    created: start,
    price: clone(price),
    ...(price.recurring.usage_type === "licensed" ? { quantity: quantity ?? 1 } : {}),
    subscription: subscriptionId,
    current_period_start: start,
    current_period_end: start + PERIOD_SECONDS,
    metadata: {},
  };
}

export const itemsOf = (subscription: StripeObject) => (subscription.items as { data: StripeObject[] }).data;
export const periodOf = (subscription: StripeObject) => {
  const first = itemsOf(subscription)[0];
  const start = (first?.current_period_start as number | undefined) ?? nowSeconds();
  return { start, end: (first?.current_period_end as number | undefined) ?? start + PERIOD_SECONDS };
};

export interface NewSubscription {
  customer: StripeObject;
  items: Array<{ price: StandinPrice; quantity?: number }>;
  metadata: Record<string, string>;
  trialDays?: number;
  /** Stripe's payment_behavior: allow_incomplete (default), default_incomplete, error_if_incomplete. */
  paymentBehavior?: string;
  paymentMethod?: string;
  /** Trial end without a payment method: `pause` or `cancel` or `create_invoice` (Stripe's trial_settings). */
  missingPaymentMethod?: string;
}

export function createSubscription(engine: Engine, input: NewSubscription): StripeObject {
  const start = nowSeconds();
  const id = randomId("sub");
  const trialEnd = input.trialDays ? start + input.trialDays * 86_400 : null;
  const subscription: StripeObject = {
    id,
    object: "subscription",
    created: start,
    start_date: start,
    billing_cycle_anchor: start,
    customer: input.customer.id,
    currency: "usd",
    collection_method: "charge_automatically",
    status: trialEnd ? "trialing" : "incomplete",
    metadata: input.metadata,
    cancel_at_period_end: false,
    cancel_at: null,
    canceled_at: null,
    ended_at: null,
    pause_collection: null,
    schedule: null,
    trial_start: trialEnd ? start : null,
    trial_end: trialEnd,
    trial_settings: {
      end_behavior: { missing_payment_method: input.missingPaymentMethod ?? "create_invoice" },
    },
    default_payment_method: input.paymentMethod ?? null,
    latest_invoice: null,
    items: {
      object: "list",
      data: input.items.map((item) => {
        const created = newItem(item.price, id, start, item.quantity);
        if (trialEnd) created.current_period_end = trialEnd;
        return created;
      }),
      has_more: false,
      url: `/v1/subscription_items?subscription=${id}`,
    },
    livemode: engine.livemode,
  };
  engine.data.subscriptions[id] = subscription;
  engine.emit("customer.subscription.created", subscription);
  const lines = trialEnd ? [] : periodLines(subscription, periodOf(subscription));
  const invoice = createInvoice(engine, subscription, lines, "subscription_create");
  if (trialEnd) return subscription;
  if (input.paymentBehavior === "default_incomplete") return subscription;
  const outcome = attemptPayment(engine, invoice, input.paymentMethod);
  if (outcome !== "succeeded" && input.paymentBehavior === "error_if_incomplete") {
    throw new StripeApiError(402, "Your card was declined.", {
      type: "card_error",
      code: outcome === "declined" ? "card_declined" : "authentication_required",
      declineCode: outcome === "declined" ? "generic_decline" : undefined,
    });
  }
  return subscription;
}

function setStatus(
  engine: Engine,
  subscription: StripeObject,
  status: string,
  extra: Record<string, unknown> = {},
) {
  if (subscription.status === status && Object.keys(extra).length === 0) return;
  const previous: Record<string, unknown> = { status: subscription.status };
  for (const key of Object.keys(extra)) previous[key] = subscription[key] ?? null;
  subscription.status = status;
  Object.assign(subscription, extra);
  const type =
    status === "paused"
      ? "customer.subscription.paused"
      : previous.status === "paused" && status !== "canceled"
        ? "customer.subscription.resumed"
        : "customer.subscription.updated";
  engine.emit(type, subscription, previous);
}

export function cancelSubscription(engine: Engine, subscription: StripeObject): StripeObject {
  if (isEnded(subscription)) {
    throw new StripeApiError(
      400,
      `A canceled subscription can only update its cancellation_details and metadata.`,
    );
  }
  const now = nowSeconds();
  subscription.status = "canceled";
  subscription.canceled_at = now;
  subscription.ended_at = now;
  // Open invoices of a canceled subscription are voided, as Stripe does, so they stop being retried.
  for (const invoice of Object.values(engine.data.invoices)) {
    if (subscriptionOfInvoice(invoice) === subscription.id && invoice.status === "open")
      invoice.status = "void";
  }
  delete engine.data.pendingLines[subscription.id];
  // Like Stripe: a schedule managing the subscription is cancelled with it.
  const schedule = subscription.schedule
    ? engine.data.subscriptionSchedules[subscription.schedule as string]
    : undefined;
  if (schedule && ["not_started", "active"].includes(schedule.status as string)) {
    schedule.status = "canceled";
    schedule.canceled_at = now;
    schedule.current_phase = null;
    engine.emit("subscription_schedule.canceled", schedule, { status: "active" });
  }
  engine.emit("customer.subscription.deleted", subscription);
  return subscription;
}

export interface ItemChange {
  id?: string;
  price?: string;
  quantity?: number;
  deleted?: boolean;
}

/**
 * The items a subscription would have after `changes` (Stripe's `items` parameter of an update), and the
 * proration lines that change costs at `prorationDate`.
 */
export function plannedItems(
  engine: Engine,
  subscription: StripeObject,
  changes: ItemChange[],
  prorationDate: number,
): { items: StripeObject[]; prorations: StripeObject[] } {
  const items = itemsOf(subscription).map((item) => clone(item));
  const period = periodOf(subscription);
  const prorations: StripeObject[] = [];
  for (const [index, change] of changes.entries()) {
    const param = `items[${index}]`;
    if (change.id !== undefined) {
      const position = items.findIndex((item) => item.id === change.id);
      if (position < 0) throw invalid(`${param}[id]`, `Invalid subscription_item id: ${change.id}`);
      const item = items[position] as StripeObject;
      if (change.deleted) {
        prorations.push(...prorationLine(subscription, item, -1, period, prorationDate));
        items.splice(position, 1);
        continue;
      }
      if (change.price !== undefined) {
        const price = requirePrice(engine, change.price, `${param}[price]`);
        prorations.push(...prorationLine(subscription, item, -1, period, prorationDate));
        item.price = clone(price);
        if (price.recurring.usage_type === "metered") delete item.quantity;
        else item.quantity = change.quantity ?? (item.quantity as number | undefined) ?? 1;
        prorations.push(...prorationLine(subscription, item, 1, period, prorationDate));
      }
      continue;
    }
    if (change.deleted) throw invalid(`${param}[id]`, "An item to delete needs its id.");
    const price = requirePrice(engine, change.price, `${param}[price]`);
    if (items.some((item) => (item.price as StandinPrice).id === price.id)) {
      throw invalid(`${param}[price]`, `The price ${price.id} is already on this subscription.`);
    }
    const item = newItem(price, subscription.id, period.start, change.quantity);
    item.current_period_end = period.end;
    items.push(item);
    prorations.push(...prorationLine(subscription, item, 1, period, prorationDate));
  }
  return { items, prorations };
}

/** What the rest of the period costs for a licensed item (sign -1: the credit for unused time). */
function prorationLine(
  subscription: StripeObject,
  item: StripeObject,
  sign: 1 | -1,
  period: { start: number; end: number },
  at: number,
): StripeObject[] {
  const price = item.price as StandinPrice;
  if (price.recurring.usage_type !== "licensed" || !price.unit_amount) return [];
  const remaining = Math.max(0, Math.min(1, (period.end - at) / (period.end - period.start)));
  const amount = sign * Math.round(price.unit_amount * ((item.quantity as number) ?? 1) * remaining);
  const when = new Date(at * 1000).toISOString().slice(0, 10);
  return [
    line(subscription, item, amount, {
      description: `${sign < 0 ? "Unused time on" : "Remaining time on"} ${price.nickname} after ${when}`,
      proration: true,
      period: { start: at, end: period.end },
    }),
  ];
}

function line(
  subscription: StripeObject,
  item: StripeObject,
  amount: number,
  options: {
    description: string;
    proration: boolean;
    period: { start: number; end: number };
    quantity?: number;
  },
): StripeObject {
  const price = item.price as StandinPrice;
  return {
    id: randomId("il"),
    object: "line_item",
    amount,
    currency: "usd",
    description: options.description,
    period: options.period,
    quantity: options.quantity ?? (item.quantity as number | undefined) ?? null,
    pricing: { type: "price_details", price_details: { price: price.id, product: price.product } },
    parent: {
      type: "subscription_item_details",
      subscription_item_details: {
        subscription: subscription.id,
        subscription_item: item.id,
        proration: options.proration,
      },
    },
  };
}

/** The lines of a full period: licensed items in advance, metered items for the usage reported in `usage`. */
export function periodLines(
  subscription: StripeObject,
  period: { start: number; end: number },
  items: StripeObject[] = itemsOf(subscription),
  usage?: { data: StandinData; from: number; to: number },
): StripeObject[] {
  const lines: StripeObject[] = [];
  for (const item of items) {
    const price = item.price as StandinPrice;
    if (price.recurring.usage_type === "licensed") {
      const quantity = (item.quantity as number) ?? 1;
      lines.push(
        line(subscription, item, (price.unit_amount ?? 0) * quantity, {
          description: `${quantity} × ${price.nickname}`,
          proration: false,
          period,
        }),
      );
    } else if (usage) {
      const units = usage.data.meterEvents
        .filter((event) => event.customer === subscription.customer)
        .filter((event) => event.timestamp >= usage.from && event.timestamp < usage.to)
        .reduce((sum, event) => sum + event.value, 0);
      lines.push(
        line(subscription, item, Math.round(units * Number(price.unit_amount_decimal)), {
          description: `${units} × ${price.nickname}`,
          proration: false,
          period: { start: usage.from, end: usage.to },
          quantity: units,
        }),
      );
    }
  }
  return lines;
}

/**
 * The proration date to use: `date` (Unix seconds) when given, else now. Stripe refuses a date outside the
 * subscription's current period (400 invalid_request_error, "Cannot specify proration date outside of current
 * subscription period") rather than clamping it, so the stand-in does too.
 */
export function prorationDateIn(subscription: StripeObject, date: number | undefined, param: string): number {
  if (date === undefined) return nowSeconds();
  const period = periodOf(subscription);
  if (date < period.start || date > period.end) {
    throw invalid(param, "Cannot specify proration date outside of current subscription period");
  }
  return date;
}

export interface SubscriptionUpdate {
  items?: ItemChange[];
  prorationBehavior?: "create_prorations" | "none" | "always_invoice";
  prorationDate?: number;
  cancelAtPeriodEnd?: boolean;
  metadata?: Record<string, string>;
  paymentBehavior?: string;
}

export function updateSubscription(
  engine: Engine,
  subscription: StripeObject,
  update: SubscriptionUpdate,
): StripeObject {
  if (isEnded(subscription)) {
    throw new StripeApiError(
      400,
      "A canceled subscription can only update its cancellation_details and metadata.",
    );
  }
  const previous: Record<string, unknown> = {};
  const behaviour = update.prorationBehavior ?? "create_prorations";
  const at = prorationDateIn(subscription, update.prorationDate, "proration_date");
  let prorations: StripeObject[] = [];
  if (update.items && update.items.length > 0) {
    const planned = plannedItems(engine, subscription, update.items, at);
    previous.items = clone(subscription.items);
    (subscription.items as { data: StripeObject[] }).data = planned.items;
    prorations = behaviour === "none" ? [] : planned.prorations;
  }
  if (
    update.cancelAtPeriodEnd !== undefined &&
    update.cancelAtPeriodEnd !== subscription.cancel_at_period_end
  ) {
    if (subscription.schedule) {
      throw new StripeApiError(
        400,
        `The subscription is managed by the subscription schedule \`${subscription.schedule}\`, and updating any cancelation behavior directly is not allowed. Please update the schedule instead.`,
      );
    }
    previous.cancel_at_period_end = subscription.cancel_at_period_end;
    previous.cancel_at = subscription.cancel_at;
    subscription.cancel_at_period_end = update.cancelAtPeriodEnd;
    subscription.cancel_at = update.cancelAtPeriodEnd ? periodOf(subscription).end : null;
  }
  if (update.metadata) {
    previous.metadata = clone(subscription.metadata);
    subscription.metadata = { ...(subscription.metadata as Record<string, string>), ...update.metadata };
  }
  if (Object.keys(previous).length > 0) engine.emit("customer.subscription.updated", subscription, previous);
  if (prorations.length === 0) return subscription;
  if (behaviour === "always_invoice") {
    const invoice = createInvoice(engine, subscription, prorations, "subscription_update");
    attemptPayment(engine, invoice, undefined);
  } else {
    const pending = engine.data.pendingLines[subscription.id] ?? [];
    engine.data.pendingLines[subscription.id] = [...pending, ...prorations];
  }
  return subscription;
}

/** POST /v1/subscriptions/:id/resume: a paused subscription is billed again and becomes active. */
export function resumeSubscription(engine: Engine, subscription: StripeObject): StripeObject {
  if (subscription.status !== "paused")
    throw new StripeApiError(400, "Only a paused subscription can be resumed.");
  const now = nowSeconds();
  for (const item of itemsOf(subscription)) {
    item.current_period_start = now;
    item.current_period_end = now + PERIOD_SECONDS;
  }
  const invoice = createInvoice(
    engine,
    subscription,
    periodLines(subscription, periodOf(subscription)),
    "subscription_cycle",
  );
  const outcome = attemptPayment(engine, invoice, undefined, { fromPaused: true });
  if (outcome !== "succeeded") setStatus(engine, subscription, "past_due");
  return subscription;
}

/**
 * Not a Stripe endpoint (Stripe's test clocks do this): the subscription reaches the end of its period.
 * A trial ends (paused or billed), a cancel-at-period-end ends it, else the next period is billed: a
 * failed payment makes it past_due, and after the last retry unpaid.
 */
export function advancePeriod(engine: Engine, subscription: StripeObject): StripeObject {
  if (isEnded(subscription)) return subscription;
  if (subscription.status === "incomplete") {
    setStatus(engine, subscription, "incomplete_expired", { ended_at: nowSeconds() });
    for (const invoice of Object.values(engine.data.invoices)) {
      if (subscriptionOfInvoice(invoice) === subscription.id && invoice.status === "open")
        invoice.status = "void";
    }
    return subscription;
  }
  if (subscription.cancel_at_period_end) return cancelSubscription(engine, subscription);
  const latest = subscription.latest_invoice
    ? engine.data.invoices[subscription.latest_invoice as string]
    : undefined;
  if (latest?.status === "open" && subscription.status !== "trialing") {
    // A retry of the unpaid invoice.
    const outcome = attemptPayment(engine, latest, undefined);
    if (outcome !== "succeeded" && (latest.attempt_count as number) >= RETRIES_BEFORE_UNPAID) {
      setStatus(engine, subscription, "unpaid");
    }
    return subscription;
  }
  const trialEnding = subscription.status === "trialing";
  const customer = engine.data.customers[subscription.customer as string];
  const hasMethod = !!(
    subscription.default_payment_method ??
    (customer?.invoice_settings as { default_payment_method?: string } | undefined)?.default_payment_method
  );
  const settings = subscription.trial_settings as { end_behavior: { missing_payment_method: string } };
  if (trialEnding && !hasMethod && settings.end_behavior.missing_payment_method === "pause") {
    setStatus(engine, subscription, "paused", { trial_end: nowSeconds() });
    return subscription;
  }
  const old = periodOf(subscription);
  const start = Math.max(old.end, trialEnding ? nowSeconds() : old.end);
  const usage = { data: engine.data, from: old.start, to: start };
  const next = { start, end: start + PERIOD_SECONDS };
  // A subscription schedule's next phase begins at the period's end (Stripe applies it at the boundary).
  const { endedItems, canceled } = enterNextPhase(engine, subscription, old.end);
  if (canceled) return subscription;
  for (const item of itemsOf(subscription)) {
    item.current_period_start = next.start;
    item.current_period_end = next.end;
  }
  const metered = (item: StripeObject) => (item.price as StandinPrice).recurring.usage_type === "metered";
  const lines = [
    ...(engine.data.pendingLines[subscription.id] ?? []),
    // Licensed items of the new period in advance; the usage of the period that ended, on the items it had.
    ...periodLines(subscription, next, itemsOf(subscription)),
    ...periodLines(subscription, next, endedItems.filter(metered), usage),
  ];
  delete engine.data.pendingLines[subscription.id];
  const invoice = createInvoice(engine, subscription, lines, "subscription_cycle");
  if (trialEnding) setStatus(engine, subscription, "active");
  const outcome = attemptPayment(engine, invoice, undefined);
  if (outcome !== "succeeded") setStatus(engine, subscription, "past_due");
  return subscription;
}

// ---------------------------------------------------------------------------------------------------------
// Invoices
// ---------------------------------------------------------------------------------------------------------

export function subscriptionOfInvoice(invoice: StripeObject): string | null {
  const parent = invoice.parent as { subscription_details?: { subscription?: string } } | null;
  return parent?.subscription_details?.subscription ?? null;
}

export function invoiceShape(
  engine: Engine,
  subscription: StripeObject,
  lines: StripeObject[],
  billingReason: string,
  id = randomId("in"),
): StripeObject {
  const total = lines.reduce((sum, item) => sum + (item.amount as number), 0);
  const period = periodOf(subscription);
  return {
    id,
    object: "invoice",
    created: nowSeconds(),
    customer: subscription.customer,
    currency: "usd",
    status: "draft",
    billing_reason: billingReason,
    collection_method: "charge_automatically",
    subtotal: total,
    total,
    amount_due: Math.max(0, total),
    amount_paid: 0,
    amount_remaining: Math.max(0, total),
    attempt_count: 0,
    attempted: false,
    period_start: period.start,
    period_end: period.end,
    lines: { object: "list", data: lines, has_more: false, url: `/v1/invoices/${id}/lines` },
    parent: {
      type: "subscription_details",
      subscription_details: { subscription: subscription.id, metadata: clone(subscription.metadata) },
    },
    livemode: engine.livemode,
  };
}

function createInvoice(
  engine: Engine,
  subscription: StripeObject,
  lines: StripeObject[],
  billingReason: string,
): StripeObject {
  const invoice = invoiceShape(engine, subscription, lines, billingReason);
  engine.data.invoices[invoice.id] = invoice;
  engine.emit("invoice.created", invoice);
  invoice.status = "open";
  engine.emit("invoice.finalized", invoice, { status: "draft" });
  subscription.latest_invoice = invoice.id;
  if ((invoice.amount_due as number) === 0) markPaid(engine, invoice, subscription);
  return invoice;
}

function markPaid(engine: Engine, invoice: StripeObject, subscription: StripeObject | undefined) {
  invoice.status = "paid";
  invoice.amount_paid = invoice.amount_due;
  invoice.amount_remaining = 0;
  invoice.status_transitions = { paid_at: nowSeconds() };
  engine.emit("invoice.paid", invoice, { status: "open" });
  engine.emit("invoice.payment_succeeded", invoice);
  if (!subscription || subscription.latest_invoice !== invoice.id) return;
  if (["incomplete", "past_due", "unpaid"].includes(subscription.status as string)) {
    setStatus(engine, subscription, "active");
  }
}

/**
 * Charges an open invoice with `paymentMethod`, else the subscription's or the customer's default one.
 * Stripe's outcomes: paid (and the subscription active again), declined (payment_failed), or waiting for
 * the customer's authentication (payment_action_required; the invoice stays open).
 */
export function attemptPayment(
  engine: Engine,
  invoice: StripeObject,
  paymentMethod: string | undefined,
  options: { fromPaused?: boolean } = {},
): PaymentOutcome {
  if (invoice.status === "paid") return "succeeded"; // a $0 invoice is paid when it is finalized
  if (invoice.status !== "open")
    throw new StripeApiError(400, `Invoice ${invoice.id} is already ${invoice.status}.`, {
      code: "invoice_not_open",
    });
  const subscriptionId = subscriptionOfInvoice(invoice);
  const subscription = subscriptionId ? engine.data.subscriptions[subscriptionId] : undefined;
  const customer = engine.data.customers[invoice.customer as string];
  const method =
    paymentMethod ??
    (subscription?.default_payment_method as string | null) ??
    (customer?.invoice_settings as { default_payment_method?: string | null } | undefined)
      ?.default_payment_method;
  const outcome = outcomeOf(method);
  invoice.attempt_count = (invoice.attempt_count as number) + 1;
  invoice.attempted = true;
  if (outcome === "succeeded") {
    if (options.fromPaused && subscription) setStatus(engine, subscription, "active");
    markPaid(engine, invoice, subscription);
  } else if (outcome === "requires_action") {
    engine.emit("invoice.payment_action_required", invoice);
  } else {
    invoice.next_payment_attempt = nowSeconds() + 3 * 86_400;
    engine.emit("invoice.payment_failed", invoice);
  }
  return outcome;
}

/**
 * POST /v1/invoices/create_preview: the invoice Stripe would send next, or the one an update would make
 * now. With `subscription_details.items`, the proration lines the change costs, plus (unless the change is
 * invoiced at once) the next period's lines at the new prices.
 */
export function previewInvoice(
  engine: Engine,
  input: {
    customer?: StripeObject;
    subscription?: StripeObject;
    items?: ItemChange[];
    prorationBehavior?: "create_prorations" | "none" | "always_invoice";
    prorationDate?: number;
  },
): StripeObject {
  const subscription = input.subscription;
  if (!subscription)
    throw new StripeApiError(400, "Previewing an invoice here needs a subscription.", {
      param: "subscription",
      code: "parameter_missing",
    });
  if (input.customer && input.customer.id !== subscription.customer) {
    throw invalid("subscription", "The subscription does not belong to that customer.");
  }
  const at = prorationDateIn(subscription, input.prorationDate, "subscription_details[proration_date]");
  const planned = plannedItems(engine, subscription, input.items ?? [], at);
  const behaviour = input.prorationBehavior ?? "create_prorations";
  const prorations = behaviour === "none" ? [] : planned.prorations;
  const pending = engine.data.pendingLines[subscription.id] ?? [];
  const period = periodOf(subscription);
  const next = { start: period.end, end: period.end + PERIOD_SECONDS };
  const usage = { data: engine.data, from: period.start, to: Math.min(nowSeconds(), period.end) };
  const lines =
    behaviour === "always_invoice" && prorations.length > 0
      ? prorations
      : [...pending, ...prorations, ...periodLines(subscription, next, planned.items, usage)];
  const invoice = invoiceShape(
    engine,
    subscription,
    lines,
    behaviour === "always_invoice" ? "subscription_update" : "upcoming",
    randomId("upcoming_in"),
  );
  invoice.status = "draft";
  return invoice;
}
