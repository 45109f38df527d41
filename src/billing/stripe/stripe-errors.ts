import Stripe from "stripe";
import { ApiError } from "../../lib/errors";
import type { Logger } from "../../lib/log";

/**
 * Runs a Stripe call; a Stripe error becomes a 502 problem naming what Stripe said by its code, never by its
 * message (a message may echo a masked key or a customer's details). The request id lets support find the
 * call in Stripe's dashboard.
 */
export async function callStripe<T>(
  what: string,
  log: Logger | undefined,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeError)) throw error;
    log?.warn("stripe call failed", {
      what,
      type: error.type,
      code: error.code,
      statusCode: error.statusCode,
      stripeRequestId: error.requestId,
    });
    const answer = error.statusCode ? `answered ${error.statusCode}` : "could not be reached";
    throw new ApiError("payment_provider_error", {
      detail: `Stripe ${answer} while trying to ${what}${error.code ? ` (${error.code})` : ""}.`,
      extensions: error.requestId ? { stripeRequestId: error.requestId } : {},
    });
  }
}
