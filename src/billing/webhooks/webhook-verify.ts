import Stripe from "stripe";
import { z } from "zod";
import { ApiError } from "../../lib/errors";

/** Stripe's default: a signature older than five minutes is refused, so a captured delivery cannot be replayed later. */
const TOLERANCE_SECONDS = 300;

const eventSchema = z.object({
  id: z.string().regex(/^evt_[A-Za-z0-9_]+$/),
  object: z.literal("event"),
  type: z.string().min(1).max(200),
  created: z.number().int().positive(),
  livemode: z.boolean(),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});

export type VerifiedEvent = z.infer<typeof eventSchema>;

const refused = (detail: string) => new ApiError("invalid_webhook", { detail });

/**
 * Verifies the Stripe-Signature header over the raw body with the stripe package (HMAC-SHA256 through Web
 * Crypto: Workers have no synchronous HMAC, hence the async variant and the SubtleCrypto provider) and checks
 * that the body is a Stripe event. Every refusal is a 400 that names neither the signature nor the secret;
 * the SDK's error (which carries the header and the payload) is dropped, not logged.
 */
export async function verifyStripeEvent(
  rawBody: string,
  signature: string | undefined,
  secret: string,
): Promise<VerifiedEvent> {
  if (!signature) throw refused("The Stripe-Signature header is missing.");
  let parsed: unknown;
  try {
    parsed = await Stripe.webhooks.constructEventAsync(
      rawBody,
      signature,
      secret,
      TOLERANCE_SECONDS,
      Stripe.createSubtleCryptoProvider(),
    );
  } catch (error) {
    if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
      throw refused("The Stripe-Signature header does not match the body, or it is too old.");
    }
    // A correctly signed body that is not JSON, or a thin (v2) event notification.
    if (error instanceof SyntaxError) throw refused("The body is not JSON.");
    if (error instanceof Error && /thin event/i.test(error.message)) {
      throw refused("Thin (v2) event notifications are not supported; send snapshot events.");
    }
    throw error;
  }
  const event = eventSchema.safeParse(parsed);
  if (!event.success) throw refused("The body is not a Stripe event.");
  return event.data;
}
