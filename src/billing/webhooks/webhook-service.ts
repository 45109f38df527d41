import type { Redis } from "@upstash/redis/cloudflare";
import Stripe from "stripe";
import type { Database } from "../../db/client";
import { ApiError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import type { PriceEnvironment } from "../../plans/plans";
import { publishCommittedTier } from "../stripe/account-publish";
import { type BillingEventType, subjectOf, UnreadableEvent } from "../stripe/stripe-facts";
import { type SyncOutcome, syncCustomer } from "./customer-sync";
import type { VerifiedEvent } from "./webhook-verify";

interface WebhookDeps {
  db: Database;
  redis: Redis;
  stripe: Stripe;
  environment: PriceEnvironment;
  graceDays: number;
  now: Date;
  log: Logger;
}

type WebhookAnswer = { status: "processed"; outcome: SyncOutcome } | { status: "duplicate" };

/**
 * One verified billing event: find its customer, re-read that customer from Stripe and apply the result once
 * (customer-sync.ts), then publish the account's tier to the edge. A failure before the commit (Stripe or
 * Postgres unreachable) leaves the event unclaimed and answers 500, so Stripe delivers it again; a failure to
 * publish after the commit also answers 500, and the redelivery, a duplicate, publishes.
 */
export async function handleBillingEvent(
  deps: WebhookDeps,
  event: VerifiedEvent & { type: BillingEventType },
): Promise<WebhookAnswer> {
  let subject: ReturnType<typeof subjectOf>;
  try {
    subject = subjectOf(event);
  } catch (error) {
    if (error instanceof UnreadableEvent)
      throw new ApiError("invalid_webhook", { detail: `${error.message}.` });
    throw error;
  }
  let result: Awaited<ReturnType<typeof syncCustomer>>;
  try {
    result = await syncCustomer(deps, {
      event: { id: event.id, type: event.type, created: event.created },
      customerId: subject.customerId,
      accountId: subject.accountId,
      actionInvoiceId: subject.actionInvoiceId,
      actor: { type: "stripe", id: event.id },
    });
  } catch (error) {
    deps.log.error("stripe event not applied; Stripe will retry it", {
      eventId: event.id,
      error:
        error instanceof Stripe.errors.StripeError
          ? { type: error.type, code: error.code, status: error.statusCode }
          : error,
    });
    throw new ApiError("internal", {
      detail: "The event could not be applied now; Stripe will deliver it again.",
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
