import {
  cancelSubscription,
  type Engine,
  isEnded,
  itemsOf,
  newItem,
  PERIOD_SECONDS,
  periodOf,
  requirePrice,
} from "./billing.ts";
import type { StandinPrice } from "./catalog.ts";
import { invalid, missing, noSuch, StripeApiError } from "./errors.ts";
import { isObject, metadataOf, oneOf, optionalInteger, optionalString, type Params } from "./form.ts";
import { clone, nowSeconds, randomId, type StripeObject } from "./store.ts";

/**
 * Stripe's subscription schedules (https://docs.stripe.com/billing/subscriptions/subscription-schedules),
 * small: a schedule made from a running subscription (`from_subscription`) whose phases are then updated,
 * released or cancelled; when a phase ends (the stand-in's test clock, advancePeriod), the subscription takes
 * the next phase's items, and after the last phase the schedule completes by its `end_behavior` (`release`
 * keeps the subscription running, `cancel` cancels it). Events: subscription_schedule.created, .updated,
 * .released, .canceled, .completed, and customer.subscription.updated for the subscription's changes.
 *
 * Months are the stand-in's 30-day periods (PERIOD_SECONDS), as everywhere in it.
 */

interface PhaseItem {
  price: string;
  quantity?: number;
}

const END_BEHAVIOR = ["release", "cancel"] as const;
const PRORATION = ["create_prorations", "none", "always_invoice"] as const;
const LIVE = new Set(["not_started", "active"]);

export function requireSchedule(engine: Engine, id: string): StripeObject {
  const schedule = engine.data.subscriptionSchedules[id];
  if (!schedule) throw noSuch("subscription_schedule", id);
  return schedule;
}

function phaseShape(start: number, end: number, items: PhaseItem[], prorationBehavior: string) {
  return {
    start_date: start,
    end_date: end,
    items: items.map((item) => ({
      price: item.price,
      ...(item.quantity === undefined ? {} : { quantity: item.quantity }),
      metadata: {},
      discounts: [],
      tax_rates: [],
    })),
    proration_behavior: prorationBehavior,
    billing_cycle_anchor: null,
    collection_method: null,
    currency: "usd",
    default_payment_method: null,
    description: null,
    discounts: [],
    add_invoice_items: [],
    application_fee_percent: null,
    billing_thresholds: null,
    invoice_settings: null,
    metadata: {},
    on_behalf_of: null,
    transfer_data: null,
    trial_end: null,
  };
}

const itemsNow = (subscription: StripeObject): PhaseItem[] =>
  itemsOf(subscription).map((item) => ({
    price: (item.price as StandinPrice).id,
    ...(item.quantity === undefined ? {} : { quantity: item.quantity as number }),
  }));

/** POST /v1/subscription_schedules with `from_subscription`: one phase, the subscription as it is now. */
export function createScheduleFrom(engine: Engine, params: Params): StripeObject {
  const subscriptionId = optionalString(params, "from_subscription");
  if (subscriptionId === undefined) {
    throw new StripeApiError(
      400,
      "The stand-in creates subscription schedules only from an existing subscription (from_subscription).",
      { param: "from_subscription", code: "parameter_missing" },
    );
  }
  if (params.phases !== undefined) {
    throw invalid("phases", "You cannot set `phases` if `from_subscription` is set.");
  }
  const subscription = engine.data.subscriptions[subscriptionId];
  if (!subscription) throw noSuch("subscription", subscriptionId, "from_subscription", 400);
  if (isEnded(subscription)) {
    throw invalid("from_subscription", `The subscription ${subscriptionId} has ended.`);
  }
  if (subscription.schedule) {
    throw invalid(
      "from_subscription",
      `You cannot migrate a subscription that is already attached to a schedule: \`${subscription.schedule}\`.`,
    );
  }
  if (subscription.cancel_at_period_end) {
    throw invalid(
      "from_subscription",
      "You cannot migrate a subscription that is set to cancel at the end of the period.",
    );
  }
  const period = periodOf(subscription);
  const id = randomId("sub_sched");
  const schedule: StripeObject = {
    id,
    object: "subscription_schedule",
    application: null,
    billing_mode: { type: "classic" },
    canceled_at: null,
    completed_at: null,
    created: nowSeconds(),
    current_phase: { start_date: period.start, end_date: period.end },
    customer: subscription.customer,
    customer_account: null,
    default_settings: {
      billing_cycle_anchor: "automatic",
      collection_method: "charge_automatically",
      default_payment_method: null,
      description: null,
      invoice_settings: { days_until_due: null },
    },
    end_behavior: "release",
    livemode: engine.livemode,
    metadata: {},
    phases: [phaseShape(period.start, period.end, itemsNow(subscription), "create_prorations")],
    released_at: null,
    released_subscription: null,
    status: "active",
    subscription: subscription.id,
    test_clock: null,
  };
  engine.data.subscriptionSchedules[id] = schedule;
  engine.emit("subscription_schedule.created", schedule);
  subscription.schedule = id;
  engine.emit("customer.subscription.updated", subscription, { schedule: null });
  return schedule;
}

/**
 * POST /v1/subscription_schedules/:id: new phases (the current one first, with its start date unchanged;
 * later phases start where the previous one ends), end_behavior, metadata.
 */
export function updateSchedule(engine: Engine, schedule: StripeObject, params: Params): StripeObject {
  if (!LIVE.has(schedule.status as string)) {
    throw new StripeApiError(
      400,
      `You cannot update a subscription schedule that is currently in the \`${schedule.status}\` status. It must be in one of the following statuses: \`not_started\`, \`active\`.`,
    );
  }
  const previous: Record<string, unknown> = {};
  if (params.phases !== undefined) {
    previous.phases = clone(schedule.phases);
    schedule.phases = phasesFrom(engine, schedule, params.phases);
  }
  const endBehavior = oneOf(params, "end_behavior", END_BEHAVIOR);
  if (endBehavior !== undefined && endBehavior !== schedule.end_behavior) {
    previous.end_behavior = schedule.end_behavior;
    schedule.end_behavior = endBehavior;
  }
  if (params.metadata !== undefined) {
    previous.metadata = clone(schedule.metadata);
    schedule.metadata = { ...(schedule.metadata as Record<string, string>), ...metadataOf(params) };
  }
  if (Object.keys(previous).length > 0) engine.emit("subscription_schedule.updated", schedule, previous);
  return schedule;
}

function phasesFrom(engine: Engine, schedule: StripeObject, value: unknown): StripeObject[] {
  if (!Array.isArray(value) || value.length === 0) throw missing("phases");
  const current = schedule.current_phase as { start_date: number; end_date: number };
  const subscription = engine.data.subscriptions[schedule.subscription as string] as StripeObject;
  const phases: StripeObject[] = [];
  let start = current.start_date;
  for (const [index, raw] of value.entries()) {
    const param = `phases[${index}]`;
    if (!isObject(raw)) throw invalid(param, `Invalid object: ${param} must be a hash.`);
    const given = optionalInteger(raw, "start_date");
    if (index === 0 && given !== undefined && given !== current.start_date) {
      throw invalid(`${param}[start_date]`, "You can not modify the start date of the current phase.");
    }
    if (index > 0 && given !== undefined && given !== start) {
      throw invalid(`${param}[start_date]`, "Each phase must start when the previous phase ends.");
    }
    const items = phaseItems(engine, raw.items, `${param}[items]`);
    if (index === 0 && !sameItems(items, itemsNow(subscription))) {
      throw new StripeApiError(
        400,
        "The stand-in does not change the current phase's items: update the subscription, or add a later phase.",
        { param: `${param}[items]` },
      );
    }
    const end = phaseEnd(raw, start, param);
    const proration = oneOf(raw, "proration_behavior", PRORATION) ?? "create_prorations";
    phases.push(phaseShape(start, end, items, proration) as unknown as StripeObject);
    start = end;
  }
  return phases;
}

/** `end_date`, or `duration` (interval `month` and its count), else one period: Stripe's default. */
function phaseEnd(raw: Params, start: number, param: string): number {
  const endDate = optionalInteger(raw, "end_date");
  const duration = isObject(raw.duration) ? raw.duration : undefined;
  if (endDate !== undefined && duration !== undefined) {
    throw invalid(`${param}[end_date]`, "You may only specify one of these parameters: duration, end_date.");
  }
  if (endDate !== undefined) {
    if (endDate <= start) throw invalid(`${param}[end_date]`, "The phase must end after it starts.");
    return endDate;
  }
  if (duration !== undefined) {
    if (optionalString(duration, "interval") !== "month") {
      throw invalid(
        `${param}[duration][interval]`,
        "The stand-in's phases last whole months (interval=month).",
      );
    }
    return start + (optionalInteger(duration, "interval_count") ?? 1) * PERIOD_SECONDS;
  }
  return start + PERIOD_SECONDS;
}

function phaseItems(engine: Engine, value: unknown, param: string): PhaseItem[] {
  if (!Array.isArray(value) || value.length === 0) throw missing(param);
  return value.map((raw, index) => {
    if (!isObject(raw)) throw invalid(`${param}[${index}]`, "Invalid object.");
    const price = requirePrice(engine, raw.price, `${param}[${index}][price]`);
    const quantity = optionalInteger(raw, "quantity");
    if (price.recurring.usage_type === "metered" && quantity !== undefined) {
      throw invalid(
        `${param}[${index}][quantity]`,
        "Quantity should not be specified where usage_type is `metered`.",
      );
    }
    return {
      price: price.id,
      ...(price.recurring.usage_type === "licensed" ? { quantity: quantity ?? 1 } : {}),
    };
  });
}

const key = (item: PhaseItem) => `${item.price}×${item.quantity ?? ""}`;
const sameItems = (a: PhaseItem[], b: PhaseItem[]) =>
  a.map(key).sort().join("\n") === b.map(key).sort().join("\n");

function assertLive(schedule: StripeObject, verb: string) {
  if (!LIVE.has(schedule.status as string)) {
    throw new StripeApiError(
      400,
      `You cannot ${verb} a subscription schedule that is currently in the \`${schedule.status}\` status. It must be in one of the following statuses: \`not_started\`, \`active\`.`,
    );
  }
}

/** POST /v1/subscription_schedules/:id/release: the schedule stops; the subscription keeps its items now. */
export function releaseSchedule(engine: Engine, schedule: StripeObject): StripeObject {
  assertLive(schedule, "release");
  const subscription = engine.data.subscriptions[schedule.subscription as string];
  schedule.status = "released";
  schedule.released_at = nowSeconds();
  schedule.released_subscription = schedule.subscription;
  schedule.subscription = null;
  schedule.current_phase = null;
  engine.emit("subscription_schedule.released", schedule, { status: "active" });
  if (subscription) {
    subscription.schedule = null;
    engine.emit("customer.subscription.updated", subscription, { schedule: schedule.id });
  }
  return schedule;
}

/** POST /v1/subscription_schedules/:id/cancel: the schedule and its subscription end now. */
export function cancelSchedule(engine: Engine, schedule: StripeObject): StripeObject {
  assertLive(schedule, "cancel");
  const subscription = engine.data.subscriptions[schedule.subscription as string];
  schedule.status = "canceled";
  schedule.canceled_at = nowSeconds();
  schedule.current_phase = null;
  engine.emit("subscription_schedule.canceled", schedule, { status: "active" });
  if (subscription && !isEnded(subscription)) cancelSubscription(engine, subscription);
  return schedule;
}

/**
 * The subscription's period ended at `boundary`: if its schedule's current phase ends there, the next phase
 * begins (the subscription takes its items: same price keeps its item, others are new items), or, after the
 * last phase, the schedule completes by its end_behavior. Returns the items that were on the subscription
 * during the period that ended (their usage is billed on the next invoice) and whether it was cancelled.
 */
export function enterNextPhase(
  engine: Engine,
  subscription: StripeObject,
  boundary: number,
): { endedItems: StripeObject[]; canceled: boolean } {
  const endedItems = itemsOf(subscription).map((item) => clone(item));
  const schedule = subscription.schedule
    ? engine.data.subscriptionSchedules[subscription.schedule as string]
    : undefined;
  const current = schedule?.current_phase as { start_date: number; end_date: number } | null | undefined;
  if (!schedule || !current || current.end_date > boundary) return { endedItems, canceled: false };
  const phases = schedule.phases as Array<{ start_date: number; end_date: number; items: PhaseItem[] }>;
  const next = phases.find((phase) => phase.start_date >= current.end_date);
  if (next) {
    const previousItems = clone(subscription.items);
    const kept = itemsOf(subscription);
    (subscription.items as { data: StripeObject[] }).data = next.items.map((item) => {
      const same = kept.find((existing) => (existing.price as StandinPrice).id === item.price);
      if (same) {
        if (item.quantity !== undefined) same.quantity = item.quantity;
        return same;
      }
      return newItem(requirePrice(engine, item.price, "price"), subscription.id, boundary, item.quantity);
    });
    const previousPhase = clone(schedule.current_phase);
    schedule.current_phase = { start_date: next.start_date, end_date: next.end_date };
    engine.emit("customer.subscription.updated", subscription, { items: previousItems });
    engine.emit("subscription_schedule.updated", schedule, { current_phase: previousPhase });
    return { endedItems, canceled: false };
  }
  schedule.status = "completed";
  schedule.completed_at = boundary;
  schedule.current_phase = null;
  schedule.released_subscription = schedule.end_behavior === "release" ? subscription.id : null;
  engine.emit("subscription_schedule.completed", schedule, { status: "active" });
  subscription.schedule = null;
  if (schedule.end_behavior === "cancel") {
    cancelSubscription(engine, subscription);
    return { endedItems, canceled: true };
  }
  engine.emit("customer.subscription.updated", subscription, { schedule: schedule.id });
  return { endedItems, canceled: false };
}
