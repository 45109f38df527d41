import type { Redis } from "@upstash/redis/cloudflare";
import { eq } from "drizzle-orm";
import Stripe from "stripe";
import type { Database } from "../db/client";
import { stripeEvents } from "../db/schema/stripe-events";
import { ApiError } from "../lib/errors";
import type { Logger } from "../lib/log";
import type { PriceEnvironment } from "../plans/plans";
import { publishCommittedTier } from "./account-publish";
import {
  type BillingEventType,
  checkoutSubscriptionId,
  readBillingEvent,
  type SubscriptionData,
  subscriptionSchema,
  UnreadableEvent,
} from "./stripe-facts";
import { type ProcessOutcome, processBillingEvent } from "./webhook-processor";
import type { VerifiedEvent } from "./webhook-verify";

export interface WebhookDeps {
  db: Database;
  redis: Redis;
  /** Only needed to read a checkout's subscription; without STRIPE_SECRET_KEY the session's metadata is used. */
  stripe: () => Stripe | undefined;
  environment: PriceEnvironment;
  graceDays: number;
  now: Date;
  log: Logger;
}

export type WebhookAnswer = { status: "processed"; outcome: ProcessOutcome } | { status: "duplicate" };

/**
 * One verified billing event: read it, apply it once (webhook-processor.ts), then publish the account's tier
 * to the edge. A failure before the commit leaves the event unclaimed and answers 500, so Stripe delivers it
 * again; a failure to publish after the commit also answers 500, and the redelivery, a duplicate, publishes.
 */
export async function handleBillingEvent(
  deps: WebhookDeps,
  event: VerifiedEvent & { type: BillingEventType },
): Promise<WebhookAnswer> {
  let read: ReturnType<typeof readBillingEvent>;
  try {
    read = readBillingEvent(event, deps.environment, await subscriptionOfCheckout(deps, event));
  } catch (error) {
    if (error instanceof UnreadableEvent)
      throw new ApiError("invalid_webhook", { detail: `${error.message}.` });
    throw error;
  }
  let result: Awaited<ReturnType<typeof processBillingEvent>>;
  try {
    result = await processBillingEvent(deps, event, read);
  } catch (error) {
    deps.log.error("stripe event not stored; Stripe will retry it", { eventId: event.id, error });
    throw new ApiError("internal", {
      detail: "The event could not be stored; Stripe will deliver it again.",
      cause: error,
    });
  }
  if (result.status === "processed") {
    deps.log.info("stripe event processed", {
      eventId: event.id,
      type: event.type,
      outcome: result.outcome,
      accountId: result.accountId,
      tierChange: result.tierChange,
    });
  }
  if (result.accountId) await publishCommittedTier(deps.db, deps.redis, result.accountId);
  return result.status === "duplicate"
    ? { status: "duplicate" }
    : { status: "processed", outcome: result.outcome };
}

/**
 * checkout.session.completed carries the subscription's id, not its price: the subscription is read from
 * Stripe (skipped for an event already processed). When that fails, the session's metadata.tier decides.
 */
async function subscriptionOfCheckout(
  deps: WebhookDeps,
  event: VerifiedEvent,
): Promise<SubscriptionData | undefined> {
  if (event.type !== "checkout.session.completed") return undefined;
  let subscriptionId: string | null;
  try {
    subscriptionId = checkoutSubscriptionId(event.data.object);
  } catch {
    return undefined; // readBillingEvent refuses the malformed session with a 400.
  }
  const stripe = deps.stripe();
  if (!subscriptionId || !stripe) return undefined;
  const [seen] = await deps.db
    .select({ id: stripeEvents.id })
    .from(stripeEvents)
    .where(eq(stripeEvents.id, event.id));
  if (seen) return undefined;
  try {
    const subscription = subscriptionSchema.safeParse(await stripe.subscriptions.retrieve(subscriptionId));
    if (subscription.success) return subscription.data;
  } catch (error) {
    deps.log.warn("could not read the checkout's subscription; using the session's metadata", {
      eventId: event.id,
      error:
        error instanceof Stripe.errors.StripeError
          ? { type: error.type, status: error.statusCode }
          : String(error),
    });
  }
  return undefined;
}
