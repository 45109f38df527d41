import {
  advancePeriod,
  attemptPayment,
  cancelSubscription,
  createCustomer,
  createSubscription,
  deleteCustomer,
  type Engine,
  type ItemChange,
  isEnded,
  previewInvoice,
  requireCustomer,
  requirePrice,
  requireSubscription,
  resumeSubscription,
  subscriptionOfInvoice,
  updateCustomer,
  updateSubscription,
} from "./billing.ts";
import { invalid, missing, noSuch, type Reply, StripeApiError } from "./errors.ts";
import {
  checkUrl,
  expansions,
  isObject,
  metadataOf,
  oneOf,
  optionalBoolean,
  optionalInteger,
  optionalString,
  type Params,
} from "./form.ts";
import {
  cancelSchedule,
  createScheduleFrom,
  releaseSchedule,
  requireSchedule,
  updateSchedule,
} from "./schedules.ts";
import { clone, nowSeconds, randomId, type StripeObject } from "./store.ts";

/** Stripe keeps meter-event identifiers unique for at least 24 hours. */
const IDENTIFIER_WINDOW_S = 24 * 3600;
const METER_EVENT_MAX_AGE_S = 35 * 86_400;
const METER_EVENT_MAX_FUTURE_S = 5 * 60;
const PRORATION = ["create_prorations", "none", "always_invoice"] as const;
const PAYMENT_BEHAVIOR = [
  "allow_incomplete",
  "default_incomplete",
  "error_if_incomplete",
  "pending_if_incomplete",
] as const;

export interface Caller {
  livemode: boolean;
  apiKey: string;
}

export interface ApiContext {
  engine: Engine;
  /** Base URL of the stand-in, for Checkout and billing-portal page URLs. */
  baseUrl: string;
}

const ok = (body: unknown): Reply => ({ status: 200, body });

/** Routes one authenticated Stripe API request; throws StripeApiError for what Stripe refuses. */
export function routeApi(
  context: ApiContext,
  method: string,
  path: string,
  params: Params,
  caller: Caller,
): Reply {
  const { engine } = context;
  const segments = path.split("/").filter(Boolean).slice(1); // drop "v1"
  // Namespaced resources have two segments: checkout/sessions, billing_portal/sessions, billing/meter_events.
  if (["checkout", "billing_portal", "billing"].includes(segments[0] ?? "")) {
    segments.splice(0, 2, `${segments[0]}/${segments[1]}`);
  }
  const [resource, id, action] = segments;
  const key = `${method} ${resource}${id === undefined ? "" : action === undefined ? "/:id" : `/:id/${action}`}`;
  switch (key) {
    case "POST customers":
      return ok(
        createCustomer(engine, {
          email: checkedEmail(params),
          name: optionalString(params, "name"),
          metadata: metadataOf(params),
          paymentMethod: defaultPaymentMethod(params) ?? optionalString(params, "payment_method"),
        }),
      );
    case "GET customers/:id": {
      const customer = engine.data.customers[id as string];
      if (!customer) throw noSuch("customer", id as string);
      return ok(customer);
    }
    case "POST customers/:id": {
      const customer = requireCustomer(engine, id, "id");
      updateCustomer(engine, customer, defaultPaymentMethod(params));
      return ok(customer);
    }
    case "DELETE customers/:id":
      return ok(deleteCustomer(engine, id as string));
    case "POST subscriptions":
      return ok(expand(engine, createSubscriptionFrom(engine, params), expansions(params)));
    case "GET subscriptions":
      return ok(listSubscriptions(engine, params));
    case "GET subscriptions/:id":
      return ok(expand(engine, requireSubscription(engine, id as string), expansions(params)));
    case "POST subscriptions/:id": {
      const subscription = requireSubscription(engine, id as string);
      updateSubscription(engine, subscription, {
        items: itemChanges(params.items, "items"),
        prorationBehavior: oneOf(params, "proration_behavior", PRORATION),
        prorationDate: optionalInteger(params, "proration_date"),
        cancelAtPeriodEnd: optionalBoolean(params, "cancel_at_period_end"),
        metadata: params.metadata === undefined ? undefined : metadataOf(params),
        paymentBehavior: oneOf(params, "payment_behavior", PAYMENT_BEHAVIOR),
      });
      return ok(expand(engine, subscription, expansions(params)));
    }
    case "DELETE subscriptions/:id":
      return ok(cancelSubscription(engine, requireSubscription(engine, id as string)));
    case "POST subscriptions/:id/resume":
      return ok(resumeSubscription(engine, requireSubscription(engine, id as string)));
    case "POST subscription_schedules":
      return ok(createScheduleFrom(engine, params));
    case "GET subscription_schedules": {
      const customer = optionalString(params, "customer");
      const schedules = Object.values(engine.data.subscriptionSchedules).filter(
        (schedule) => customer === undefined || schedule.customer === customer,
      );
      return ok(listOf(schedules, params, "/v1/subscription_schedules"));
    }
    case "GET subscription_schedules/:id":
      return ok(requireSchedule(engine, id as string));
    case "POST subscription_schedules/:id":
      return ok(updateSchedule(engine, requireSchedule(engine, id as string), params));
    case "POST subscription_schedules/:id/release":
      return ok(releaseSchedule(engine, requireSchedule(engine, id as string)));
    case "POST subscription_schedules/:id/cancel":
      return ok(cancelSchedule(engine, requireSchedule(engine, id as string)));
    case "POST invoices/:id":
      if (id === "create_preview") return ok(previewFrom(engine, params));
      break;
    case "GET invoices":
      return ok(
        listOf(
          Object.values(engine.data.invoices).filter(
            (invoice) =>
              (params.customer === undefined || invoice.customer === params.customer) &&
              (params.subscription === undefined || subscriptionOfInvoice(invoice) === params.subscription),
          ),
          params,
          "/v1/invoices",
        ),
      );
    case "GET invoices/:id": {
      const invoice = engine.data.invoices[id as string];
      if (!invoice) throw noSuch("invoice", id as string);
      return ok(invoice);
    }
    case "POST invoices/:id/pay": {
      const invoice = engine.data.invoices[id as string];
      if (!invoice) throw noSuch("invoice", id as string);
      if (invoice.status !== "open")
        throw new StripeApiError(400, `Invoice is already ${invoice.status}.`, { code: "invoice_not_open" });
      const outcome = attemptPayment(engine, invoice, optionalString(params, "payment_method"));
      if (outcome === "declined")
        throw new StripeApiError(402, "Your card was declined.", {
          type: "card_error",
          code: "card_declined",
          declineCode: "generic_decline",
        });
      return ok(invoice);
    }
    case "POST checkout/sessions":
      return ok(createCheckoutSession(context, params, caller));
    case "GET checkout/sessions": {
      const status = optionalString(params, "status");
      const customer = optionalString(params, "customer");
      const sessions = Object.values(engine.data.checkoutSessions).filter(
        (session) =>
          (status === undefined || session.status === status) &&
          (customer === undefined || session.customer === customer),
      );
      return ok(listOf(sessions.map(publicSession), params, "/v1/checkout/sessions"));
    }
    case "GET checkout/sessions/:id": {
      const session = engine.data.checkoutSessions[id as string];
      if (!session) throw noSuch("checkout.session", id as string);
      return ok(publicSession(session));
    }
    case "POST checkout/sessions/:id/expire":
      return ok(expireCheckoutSession(engine, id as string));
    case "POST billing_portal/sessions":
      return ok(createPortalSession(context, params, caller));
    case "POST billing/meter_events":
      return ok(createMeterEvent(engine, params, caller));
    case "GET events":
      return ok(listOf(eventsMatching(engine, params), params, "/v1/events"));
    case "GET events/:id": {
      const event = engine.data.events.find((candidate) => candidate.id === id);
      if (!event) throw noSuch("event", id as string);
      return ok(event);
    }
    case "GET prices":
      return ok(
        listOf(
          [...engine.prices.values()].map((price) => ({ ...price })) as unknown as StripeObject[],
          params,
          "/v1/prices",
        ),
      );
    case "GET prices/:id":
      return ok(requirePrice(engine, id, "id"));
  }
  throw new StripeApiError(404, `Unrecognized request URL (${method}: ${path}).`);
}

function checkedEmail(params: Params): string | undefined {
  const email = optionalString(params, "email");
  if (email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
    throw invalid("email", `Invalid email address: ${email}`);
  }
  return email;
}

function defaultPaymentMethod(params: Params): string | undefined {
  const settings = params.invoice_settings;
  if (!isObject(settings)) return undefined;
  return optionalString(settings, "default_payment_method");
}

function itemChanges(value: unknown, param: string): ItemChange[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalid(param, `Invalid array: ${param} must be an array.`);
  return value.map((item, index) => {
    if (!isObject(item)) throw invalid(`${param}[${index}]`, "Invalid object.");
    return {
      id: optionalString(item, "id"),
      price: optionalString(item, "price"),
      quantity: optionalInteger(item, "quantity"),
      deleted: optionalBoolean(item, "deleted"),
    };
  });
}

function createSubscriptionFrom(engine: Engine, params: Params): StripeObject {
  const customer = requireCustomer(engine, params.customer);
  const items = itemChanges(params.items, "items");
  if (!items || items.length === 0) throw missing("items");
  const prices = items.map((item, index) => ({
    price: requirePrice(engine, item.price, `items[${index}][price]`),
    quantity: item.quantity,
  }));
  const trial =
    isObject(params.trial_settings) && isObject(params.trial_settings.end_behavior)
      ? optionalString(params.trial_settings.end_behavior, "missing_payment_method")
      : undefined;
  return createSubscription(engine, {
    customer,
    items: prices,
    metadata: metadataOf(params),
    trialDays: optionalInteger(params, "trial_period_days"),
    paymentBehavior: oneOf(params, "payment_behavior", PAYMENT_BEHAVIOR),
    paymentMethod: optionalString(params, "default_payment_method"),
    missingPaymentMethod: trial,
  });
}

/** Stripe's default list leaves ended subscriptions out; `status=all` includes them. */
function listSubscriptions(engine: Engine, params: Params) {
  const status = optionalString(params, "status");
  const customer = optionalString(params, "customer");
  const matching = Object.values(engine.data.subscriptions).filter((subscription) => {
    if (customer !== undefined && subscription.customer !== customer) return false;
    if (status === "all") return true;
    if (status === undefined) return !isEnded(subscription);
    if (status === "ended") return isEnded(subscription);
    return subscription.status === status;
  });
  const inner = expansions(params)
    .filter((path) => path.startsWith("data."))
    .map((path) => path.slice("data.".length));
  const list = listOf(matching, params, "/v1/subscriptions");
  return { ...list, data: list.data.map((subscription) => expand(engine, subscription, inner)) };
}

/** Newest first, `limit` (1-100, default 10), `starting_after` / `ending_before` cursors, like Stripe's lists. */
function listOf(items: StripeObject[], params: Params, url: string) {
  const limit = optionalInteger(params, "limit") ?? 10;
  if (limit < 1 || limit > 100) throw invalid("limit", "This value must be between 1 and 100.");
  const sorted = [...items].reverse();
  let start = 0;
  let end = sorted.length;
  const after = optionalString(params, "starting_after");
  const before = optionalString(params, "ending_before");
  if (after !== undefined) start = sorted.findIndex((item) => item.id === after) + 1;
  if (before !== undefined) {
    end = sorted.findIndex((item) => item.id === before);
    if (end < 0) end = sorted.length;
    start = Math.max(0, end - limit);
  }
  const page = sorted.slice(start, Math.min(end, start + limit));
  return { object: "list", url, has_more: start + limit < end, data: page };
}

function eventsMatching(engine: Engine, params: Params): StripeObject[] {
  const type = optionalString(params, "type");
  const created = params.created;
  const gte = isObject(created) ? optionalInteger(created, "gte") : optionalInteger(params, "created");
  return engine.data.events.filter(
    (event) =>
      (type === undefined || event.type === type) && (gte === undefined || (event.created as number) >= gte),
  );
}

/** Stripe's `expand[]` for a subscription's `latest_invoice` and `schedule`. */
function expand(engine: Engine, subscription: StripeObject, paths: string[]): StripeObject {
  let expanded = subscription;
  if (paths.includes("latest_invoice") && subscription.latest_invoice) {
    const invoice = engine.data.invoices[subscription.latest_invoice as string] ?? null;
    expanded = { ...clone(expanded), latest_invoice: invoice };
  }
  if (paths.includes("schedule") && subscription.schedule) {
    const schedule = engine.data.subscriptionSchedules[subscription.schedule as string] ?? null;
    expanded = { ...clone(expanded), schedule };
  }
  return expanded;
}

function previewFrom(engine: Engine, params: Params): StripeObject {
  const customer = params.customer === undefined ? undefined : requireCustomer(engine, params.customer);
  const subscriptionId = optionalString(params, "subscription");
  const subscription = subscriptionId === undefined ? undefined : requireSubscription(engine, subscriptionId);
  const details = isObject(params.subscription_details) ? params.subscription_details : {};
  return previewInvoice(engine, {
    customer,
    subscription,
    items: itemChanges(details.items, "subscription_details[items]"),
    prorationBehavior: oneOf(details, "proration_behavior", PRORATION),
    prorationDate: optionalInteger(details, "proration_date"),
  });
}

function createCheckoutSession(context: ApiContext, params: Params, caller: Caller): StripeObject {
  const { engine } = context;
  const sessionMode = params.mode;
  if (sessionMode === undefined) throw missing("mode");
  if (sessionMode !== "payment" && sessionMode !== "setup" && sessionMode !== "subscription") {
    throw invalid("mode", "Invalid mode: must be one of payment, setup, or subscription");
  }
  const customer = params.customer === undefined ? null : requireCustomer(engine, params.customer).id;
  if (customer && params.customer_email !== undefined) {
    throw invalid(
      "customer_email",
      "You may only specify one of these parameters: customer, customer_email.",
    );
  }
  const lineItems = params.line_items;
  const items: Array<{ price: string; quantity: number | null }> = [];
  if (sessionMode !== "setup") {
    if (!Array.isArray(lineItems) || lineItems.length === 0) throw missing("line_items");
    for (const [index, item] of lineItems.entries()) {
      const param = `line_items[${index}]`;
      if (!isObject(item)) throw invalid(param, `Invalid object: ${param} must be a hash.`);
      if (item.price === undefined) throw missing(`${param}[price]`);
      const price = requirePrice(engine, item.price, `${param}[price]`);
      if (item.quantity !== undefined && !/^[1-9]\d*$/.test(String(item.quantity))) {
        throw invalid(`${param}[quantity]`, "Invalid positive integer");
      }
      if (price.recurring.usage_type === "metered" && item.quantity !== undefined) {
        throw invalid(
          `${param}[quantity]`,
          "Quantity should not be specified where usage_type is `metered`.",
        );
      }
      items.push({ price: price.id, quantity: item.quantity === undefined ? null : Number(item.quantity) });
    }
  }
  const reference = optionalString(params, "client_reference_id");
  if (reference !== undefined && reference.length > 200) {
    throw invalid("client_reference_id", "client_reference_id must be at most 200 characters.");
  }
  for (const param of ["success_url", "cancel_url"]) checkUrl(params, param);
  const subscriptionData = isObject(params.subscription_data) ? params.subscription_data : {};
  const id = randomId(`cs_${caller.livemode ? "live" : "test"}`);
  const session: StripeObject = {
    id,
    object: "checkout.session",
    created: nowSeconds(),
    expires_at: nowSeconds() + 24 * 3600,
    mode: sessionMode,
    status: "open",
    payment_status: "unpaid",
    customer,
    customer_email: optionalString(params, "customer_email") ?? null,
    client_reference_id: reference ?? null,
    metadata: metadataOf(params),
    success_url: optionalString(params, "success_url") ?? null,
    cancel_url: optionalString(params, "cancel_url") ?? null,
    subscription: null,
    line_items: { object: "list", data: items },
    subscription_data: { metadata: metadataOf(subscriptionData) },
    url: `${context.baseUrl}/c/pay/${id}`,
    livemode: caller.livemode,
  };
  engine.data.checkoutSessions[id] = session;
  // Stripe returns line_items only when expanded; the page reads them from the stored session.
  const { line_items: _items, subscription_data: _data, ...visible } = session;
  return { ...visible, id } as StripeObject;
}

export function expireCheckoutSession(engine: Engine, id: string): StripeObject {
  const session = engine.data.checkoutSessions[id];
  if (!session) throw noSuch("checkout.session", id);
  if (session.status !== "open") {
    throw new StripeApiError(
      400,
      `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
    );
  }
  session.status = "expired";
  // A subscription whose first payment failed in this session ends with it, as Stripe's does.
  const subscription = session.subscription
    ? engine.data.subscriptions[session.subscription as string]
    : undefined;
  if (subscription?.status === "incomplete") advancePeriod(engine, subscription);
  engine.emit("checkout.session.expired", publicSession(session));
  return publicSession(session);
}

export function publicSession(session: StripeObject): StripeObject {
  const { line_items: _items, subscription_data: _data, ...visible } = session;
  return { ...visible, id: session.id } as StripeObject;
}

function createPortalSession(context: ApiContext, params: Params, caller: Caller): StripeObject {
  const customer = requireCustomer(context.engine, params.customer).id;
  checkUrl(params, "return_url");
  const id = randomId("bps");
  const session: StripeObject = {
    id,
    object: "billing_portal.session",
    created: nowSeconds(),
    customer,
    return_url: optionalString(params, "return_url") ?? null,
    url: `${context.baseUrl}/p/session/${id}`,
    livemode: caller.livemode,
  };
  context.engine.data.portalSessions[id] = session;
  return session;
}

function createMeterEvent(engine: Engine, params: Params, caller: Caller): StripeObject {
  const eventName = optionalString(params, "event_name");
  if (!eventName) throw missing("event_name");
  const payload = params.payload;
  if (!isObject(payload)) throw missing("payload");
  for (const key of ["stripe_customer_id", "value"]) {
    if (typeof payload[key] !== "string" || payload[key] === "") throw missing(`payload[${key}]`);
  }
  if (!/^-?\d+(\.\d+)?$/.test(payload.value as string)) {
    throw invalid("payload[value]", "The value in the payload must be a number.");
  }
  const timestamp = params.timestamp === undefined ? nowSeconds() : Number(params.timestamp);
  if (!Number.isInteger(timestamp))
    throw invalid("timestamp", `Invalid integer: ${String(params.timestamp)}`);
  if (
    timestamp < nowSeconds() - METER_EVENT_MAX_AGE_S ||
    timestamp > nowSeconds() + METER_EVENT_MAX_FUTURE_S
  ) {
    throw invalid(
      "timestamp",
      "Timestamp must be within the past 35 calendar days or up to 5 minutes in the future.",
    );
  }
  const identifier = optionalString(params, "identifier") ?? randomId("mev");
  if (identifier.length > 100) throw invalid("identifier", "identifier must be at most 100 characters.");
  const key = `${caller.apiKey.slice(-8)}\n${identifier}`;
  const seen = engine.data.meterEvents.find((event) => event.key === key);
  if (seen && nowSeconds() - seen.receivedAt < IDENTIFIER_WINDOW_S) {
    throw new StripeApiError(400, `An event already exists with identifier ${identifier}.`);
  }
  engine.data.meterEvents.push({
    customer: payload.stripe_customer_id as string,
    value: Number(payload.value),
    timestamp,
    identifier,
    key,
    receivedAt: nowSeconds(),
  });
  return {
    id: identifier,
    object: "billing.meter_event",
    created: nowSeconds(),
    event_name: eventName,
    identifier,
    payload,
    timestamp,
    livemode: caller.livemode,
  };
}
