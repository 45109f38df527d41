import Stripe from "stripe";
import type { StripeObject } from "./store.ts";

/**
 * Sends each event to the gateway's webhook endpoint as `stripe listen --forward-to` does: one POST per
 * event, signed with the endpoint's secret by the stripe package (the same `Stripe-Signature` scheme as
 * Stripe's), in the order the events happened. A failed delivery is retried with backoff, as Stripe retries.
 */
export interface WebhookTarget {
  url: string;
  secret: string;
}

const RETRY_DELAYS_MS = [500, 2000, 8000, 30_000];

export interface WebhookSender {
  send(event: StripeObject): void;
  /** Resolves when every event handed over so far was delivered or given up on. */
  idle(): Promise<void>;
  stop(): void;
}

export function webhookSender(target: WebhookTarget | undefined, log: (line: string) => void): WebhookSender {
  let chain = Promise.resolve();
  let stopped = false;
  return {
    send(event) {
      if (!target || stopped) return;
      const payload = JSON.stringify(event);
      chain = chain.then(() => deliver(target, payload, event, log, () => stopped));
    },
    idle: () => chain,
    stop() {
      stopped = true;
    },
  };
}

async function deliver(
  target: WebhookTarget,
  payload: string,
  event: StripeObject,
  log: (line: string) => void,
  stopped: () => boolean,
): Promise<void> {
  for (let attempt = 0; attempt <= RETRY_DELAYS_MS.length && !stopped(); attempt++) {
    try {
      const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: target.secret });
      const response = await fetch(target.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Stripe-Signature": signature },
        body: payload,
        signal: AbortSignal.timeout(15_000),
      });
      if (response.ok) return;
      log(`webhook ${event.type} (${event.id}) answered ${response.status}`);
    } catch (error) {
      log(`webhook ${event.type} (${event.id}) not delivered: ${(error as Error).message}`);
    }
    const delay = RETRY_DELAYS_MS[attempt];
    if (delay === undefined) break;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  log(`webhook ${event.type} (${event.id}) given up`);
}
