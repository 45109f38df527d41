import { z } from "zod";

/**
 * Which account and customer a verified Stripe event is about. The event's object is NOT taken as the
 * account's state: the sync re-reads the customer from Stripe (webhooks/customer-sync.ts). So only ids are parsed
 * here, leniently (an id or an expanded object), because a payload's shape follows the API version of the
 * endpoint in Stripe's dashboard, not the SDK's.
 *
 * Every type below triggers a sync of the customer's entitlement; the notes say why each matters.
 */
export const billingEventTypes = [
  // A Checkout finished (or its delayed payment settled, or failed, or it was abandoned).
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
  "checkout.session.async_payment_failed",
  "checkout.session.expired",
  // Any change of a subscription: created, items or status changed, paused, resumed, ended.
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.paused",
  "customer.subscription.resumed",
  // A subscription schedule planned, moved to its next phase (a downgrade at period end takes effect),
  // or stopped: the pending change shown, and the tier once the phase changes the subscription's price.
  "subscription_schedule.created",
  "subscription_schedule.updated",
  "subscription_schedule.released",
  "subscription_schedule.canceled",
  "subscription_schedule.completed",
  "subscription_schedule.aborted",
  // The customer is gone: the account forgets it.
  "customer.deleted",
  // Payments: restore (paid), start or continue dunning (failed), ask the developer to authenticate.
  "invoice.paid",
  "invoice.payment_failed",
  "invoice.payment_action_required",
] as const;
export type BillingEventType = (typeof billingEventTypes)[number];

export function isBillingEventType(type: string): type is BillingEventType {
  return (billingEventTypes as readonly string[]).includes(type);
}

interface EventSubject {
  customerId: string | null;
  /** The account the event names itself (Checkout's client_reference_id, our metadata.account_id). */
  accountId: string | null;
  /** invoice.payment_action_required: the invoice awaiting authentication. */
  actionInvoiceId: string | null;
}

/** Thrown for a verified event whose object lacks what its type promises; answered with 400. */
export class UnreadableEvent extends Error {}

/** A reference Stripe sends either as an id or as the expanded object: read as the id. */
export const stripeRef = z
  .union([z.string(), z.object({ id: z.string() })])
  .transform((value) => (typeof value === "string" ? value : value.id));
const withCustomer = z.object({
  id: z.string(),
  customer: stripeRef.nullish(),
  client_reference_id: z.string().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
});

export function subjectOf(event: { type: BillingEventType; data: { object: unknown } }): EventSubject {
  const parsed = withCustomer.safeParse(event.data.object);
  if (!parsed.success)
    throw new UnreadableEvent(`the ${event.type} event's object is not shaped as expected`);
  const object = parsed.data;
  if (event.type === "customer.deleted")
    return { customerId: object.id, accountId: null, actionInvoiceId: null };
  if (!object.customer && !object.client_reference_id && !object.metadata?.account_id) {
    throw new UnreadableEvent(`the ${event.type} event's object names no customer`);
  }
  return {
    customerId: object.customer ?? null,
    accountId: object.client_reference_id ?? object.metadata?.account_id ?? null,
    actionInvoiceId: event.type === "invoice.payment_action_required" ? object.id : null,
  };
}
