import Stripe from "stripe";
import type { Config } from "../../config";
import { ApiError } from "../../lib/errors";

const clients = new Map<string, Stripe>();

/**
 * The Stripe API client for billing calls, pointed at STRIPE_API_BASE (Stripe itself, or the local stand-in).
 * Workers have no Node http module: the SDK must use fetch. One retry (the SDK sends an Idempotency-Key on
 * every POST, so a retried call cannot take effect twice). One client per isolate and key: it holds no I/O
 * objects between calls, only configuration.
 */
export function stripeClient(config: Config): Stripe {
  const secretKey = config.stripeSecretKey;
  if (!secretKey) {
    throw new ApiError("billing_not_configured", { detail: "STRIPE_SECRET_KEY is not set." });
  }
  const id = `${config.stripeApiBase}\n${secretKey}`;
  let client = clients.get(id);
  if (!client) {
    const base = new URL(config.stripeApiBase);
    const protocol = base.protocol === "http:" ? "http" : "https";
    client = new Stripe(secretKey, {
      httpClient: Stripe.createFetchHttpClient(),
      host: base.hostname,
      port: base.port || (protocol === "http" ? 80 : 443),
      protocol,
      maxNetworkRetries: 1,
      // The SDK's default is 80 s; a webhook or an admin call should fail long before Stripe gives up on it.
      timeout: 10_000,
      telemetry: false,
    });
    clients.set(id, client);
  }
  return client;
}
