import Stripe from "stripe";
import { z } from "zod";
import { stripeRef } from "../stripe/stripe-facts";
import type { SubscriptionView } from "./entitlement";

/**
 * Reads a customer's billing state from Stripe: the customer (does it still exist?) and every subscription
 * it has, ended ones included, each with its latest invoice. Only the fields used are parsed, leniently
 * (ids or expanded objects), so a field Stripe adds or moves elsewhere does not break the read.
 */
type CustomerState = { exists: false } | { exists: true; subscriptions: SubscriptionView[] };

const subscriptionSchema = z.object({
  id: z.string(),
  status: z.string(),
  created: z.number(),
  cancel_at: z.number().nullish(),
  items: z.object({ data: z.array(z.object({ price: z.object({ id: z.string() }) })) }),
  latest_invoice: z
    .union([z.string(), z.object({ id: z.string(), status: z.string().nullish(), created: z.number() })])
    .nullish(),
  // A subscription schedule managing it (expanded): its next phase is a change Stripe will make.
  schedule: z
    .union([
      z.string(),
      z.object({
        id: z.string(),
        status: z.string(),
        current_phase: z.object({ start_date: z.number(), end_date: z.number() }).nullish(),
        phases: z.array(
          z.object({
            start_date: z.number(),
            items: z.array(z.object({ price: stripeRef })),
          }),
        ),
      }),
    ])
    .nullish(),
});

/** Subscriptions read per call; a customer with more is paged through. */
const PAGE = 100;
/** More than this many subscriptions for one customer is not a customer of this product: stop reading. */
const MAX_SUBSCRIPTIONS = 1000;

/**
 * @throws Stripe.errors.StripeError when Stripe cannot answer (the caller lets the event be retried); a
 *   customer Stripe does not know (`resource_missing`) or has deleted is `{ exists: false }`, not an error.
 */
export async function readCustomerState(stripe: Stripe, customerId: string): Promise<CustomerState> {
  try {
    const customer = await stripe.customers.retrieve(customerId);
    if ((customer as { deleted?: boolean }).deleted) return { exists: false };
  } catch (error) {
    if (isMissing(error)) return { exists: false };
    throw error;
  }
  const subscriptions: SubscriptionView[] = [];
  for await (const raw of stripe.subscriptions.list({
    customer: customerId,
    status: "all",
    limit: PAGE,
    expand: ["data.latest_invoice", "data.schedule"],
  })) {
    subscriptions.push(toView(subscriptionSchema.parse(raw)));
    if (subscriptions.length >= MAX_SUBSCRIPTIONS) break;
  }
  return { exists: true, subscriptions };
}

/** Stripe's answer for an id it does not know (a deleted customer, another account's, or another mode's). */
export function isMissing(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeError && error.code === "resource_missing";
}

function toView(subscription: z.infer<typeof subscriptionSchema>): SubscriptionView {
  const invoice = subscription.latest_invoice;
  const expanded = invoice && typeof invoice === "object" ? invoice : null;
  return {
    id: subscription.id,
    status: subscription.status,
    created: subscription.created,
    prices: subscription.items.data.map((item) => item.price.id),
    unpaidSince: subscription.status === "past_due" && expanded ? new Date(expanded.created * 1000) : null,
    cancelAt: subscription.cancel_at ? new Date(subscription.cancel_at * 1000) : null,
    nextPhase: nextPhaseOf(subscription.schedule),
    latestInvoice: invoice
      ? { id: stripeRef.parse(invoice), status: expanded ? (expanded.status ?? null) : null }
      : null,
  };
}

/**
 * The phase an active subscription schedule enters next (https://docs.stripe.com/billing/subscriptions/
 * subscription-schedules#transitioning-to-the-next-phase): the first phase starting at or after the current
 * phase's end. Null without a schedule, or when the current phase is the last.
 */
function nextPhaseOf(
  schedule: z.infer<typeof subscriptionSchema>["schedule"],
): SubscriptionView["nextPhase"] {
  if (!schedule || typeof schedule === "string" || schedule.status !== "active") return null;
  const current = schedule.current_phase;
  if (!current) return null;
  const next = schedule.phases.find((phase) => phase.start_date >= current.end_date);
  if (!next) return null;
  return {
    scheduleId: schedule.id,
    startsAt: new Date(next.start_date * 1000),
    prices: next.items.map((item) => item.price),
  };
}
