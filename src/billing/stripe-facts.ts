import { z } from "zod";
import { isTierId, type PriceEnvironment, type TierId, tierForPrice } from "../plans/plans";
import type { BillingFact } from "./billing-state";

/**
 * Reads the billing facts out of verified Stripe events. Only the fields used are parsed, and leniently
 * (an id or an expanded object; fields that moved between API versions): a webhook payload is shaped by the
 * API version of the endpoint in Stripe's dashboard, not by the SDK's.
 */
export const billingEventTypes = [
  "checkout.session.completed",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "invoice.payment_failed",
  "invoice.paid",
] as const;
export type BillingEventType = (typeof billingEventTypes)[number];

export function isBillingEventType(type: string): type is BillingEventType {
  return (billingEventTypes as readonly string[]).includes(type);
}

/** Where to find the account an event is about, in order of authority. */
export type AccountLookup = Array<{ by: "id"; id: string } | { by: "customer"; customerId: string }>;

export interface ReadEvent {
  /** Null for an event of a billing type that changes nothing here (e.g. a one-off payment's checkout). */
  fact: BillingFact | null;
  lookup: AccountLookup;
}

/** A Stripe reference: the id, or the expanded object carrying it. */
const ref = z
  .union([z.string(), z.object({ id: z.string() })])
  .transform((value) => (typeof value === "string" ? value : value.id));
const metadata = z.record(z.string(), z.string()).nullish();

export const subscriptionSchema = z.object({
  id: z.string(),
  customer: ref,
  status: z.string(),
  metadata,
  items: z.object({ data: z.array(z.object({ price: z.object({ id: z.string() }) })) }),
});
export type SubscriptionData = z.infer<typeof subscriptionSchema>;

const checkoutSessionSchema = z.object({
  mode: z.string(),
  client_reference_id: z.string().nullish(),
  customer: ref.nullish(),
  subscription: z.union([subscriptionSchema, ref]).nullish(),
  payment_status: z.string().nullish(),
  metadata,
});
export type CheckoutSessionData = z.infer<typeof checkoutSessionSchema>;

const invoiceSchema = z.object({
  customer: ref.nullish(),
  // API versions since 2025-03-31 (basil): parent.subscription_details.subscription; before: subscription.
  parent: z.object({ subscription_details: z.object({ subscription: ref }).nullish() }).nullish(),
  subscription: ref.nullish(),
});

/** Thrown for a verified event whose object lacks what its type promises; answered with 400. */
export class UnreadableEvent extends Error {}

function parse<T>(schema: z.ZodType<T>, value: unknown, type: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new UnreadableEvent(`the ${type} event's object is not shaped as expected`);
  return result.data;
}

const tierFromMetadata = (data: Record<string, string> | null | undefined): TierId | null => {
  const tier = data?.tier;
  return tier && isTierId(tier) ? tier : null;
};

/** The tier the subscription's prices buy (the first price a plan lists), else its `metadata.tier`. */
export function tierOfSubscription(
  subscription: SubscriptionData,
  environment: PriceEnvironment,
): TierId | null {
  for (const item of subscription.items.data) {
    const tier = tierForPrice(item.price.id, environment);
    if (tier) return tier;
  }
  return tierFromMetadata(subscription.metadata);
}

/** The subscription object a checkout.session.completed needs (its price); the caller may fetch it. */
export function checkoutSubscriptionId(object: unknown): string | null {
  const session = parse(checkoutSessionSchema, object, "checkout.session.completed");
  if (session.mode !== "subscription" || !session.subscription) return null;
  return typeof session.subscription === "string" ? session.subscription : session.subscription.id;
}

export function readBillingEvent(
  event: { type: BillingEventType; created: number; data: { object: unknown } },
  environment: PriceEnvironment,
  /** For checkout.session.completed: the subscription as Stripe has it now, when it could be fetched. */
  fetchedSubscription?: SubscriptionData,
): ReadEvent {
  const { type, created } = event;
  switch (type) {
    case "checkout.session.completed": {
      const session = parse(checkoutSessionSchema, event.data.object, type);
      const customerId = session.customer ?? null;
      const lookup: AccountLookup = [];
      if (session.client_reference_id) lookup.push({ by: "id", id: session.client_reference_id });
      if (customerId) lookup.push({ by: "customer", customerId });
      if (session.mode !== "subscription" || !session.subscription) return { fact: null, lookup };
      const expanded = typeof session.subscription === "string" ? fetchedSubscription : session.subscription;
      const subscriptionId =
        typeof session.subscription === "string" ? session.subscription : session.subscription.id;
      const paid = session.payment_status === "paid" || session.payment_status === "no_payment_required";
      return {
        fact: {
          kind: "subscription",
          created,
          subscriptionId,
          customerId,
          // Without the subscription, a completed and paid session means it is active.
          status: expanded?.status ?? (paid ? "active" : "incomplete"),
          tier:
            (expanded ? tierOfSubscription(expanded, environment) : null) ??
            tierFromMetadata(session.metadata),
        },
        lookup,
      };
    }
    case "customer.subscription.created":
    case "customer.subscription.updated":
    case "customer.subscription.deleted": {
      const subscription = parse(subscriptionSchema, event.data.object, type);
      const ended = type === "customer.subscription.deleted";
      const lookup: AccountLookup = [{ by: "customer", customerId: subscription.customer }];
      if (subscription.metadata?.account_id) lookup.push({ by: "id", id: subscription.metadata.account_id });
      return {
        fact: {
          kind: "subscription",
          created,
          subscriptionId: subscription.id,
          customerId: subscription.customer,
          // A deleted subscription is over whatever status its last snapshot carried.
          status: ended && subscription.status !== "incomplete_expired" ? "canceled" : subscription.status,
          tier: tierOfSubscription(subscription, environment),
        },
        lookup,
      };
    }
    case "invoice.payment_failed":
    case "invoice.paid": {
      const invoice = parse(invoiceSchema, event.data.object, type);
      const customerId = invoice.customer ?? null;
      const lookup: AccountLookup = customerId ? [{ by: "customer", customerId }] : [];
      const subscriptionId =
        invoice.parent?.subscription_details?.subscription ?? invoice.subscription ?? null;
      // A one-off invoice says nothing about the subscription that buys the tier.
      if (!subscriptionId) return { fact: null, lookup };
      return {
        fact: { kind: "payment", created, subscriptionId, customerId, paid: type === "invoice.paid" },
        lookup,
      };
    }
  }
}
