import Stripe from "stripe";
import { afterAll, describe, expect, it } from "vitest";
import { plans } from "../../src/plans/plans.ts";
import { accountWithKeys, call } from "./harness/client.ts";
import { startService, stopService } from "./harness/control.ts";
import { withDatabase } from "./harness/database.ts";
import { env } from "./harness/environment.ts";
import { measure, verify, violationMark, violationsSince } from "./harness/figures.ts";
import { header } from "./harness/observed.ts";

const { a, b } = env.gateways;
const area = "faults: stripe webhook";
afterAll(() => startService("postgres").catch(() => {}));

const PRO_PRICE = plans.pro.stripePriceIds.test[0] as string;

const standin = new URL(env.stripe.url);
const stripe = new Stripe(env.secrets.STRIPE_SECRET_KEY as string, {
  host: standin.hostname,
  port: standin.port,
  protocol: "http",
  telemetry: false,
});

/**
 * A test-mode subscription event that moves `accountId` to pro: the effect to apply exactly once. The
 * gateway re-reads the customer's subscriptions from Stripe, so the customer and its pro subscription are
 * made in the local Stripe first, as a Checkout would have.
 */
async function upgradeEvent(accountId: string) {
  const customer = await stripe.customers.create({
    metadata: { account_id: accountId },
    invoice_settings: { default_payment_method: "pm_card_visa" },
  });
  const subscription = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: PRO_PRICE }],
    metadata: { account_id: accountId },
  });
  const suffix = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  return JSON.stringify({
    id: `evt_rel${suffix}`,
    object: "event",
    type: "customer.subscription.updated",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    api_version: Stripe.API_VERSION,
    data: { object: subscription },
  });
}

/** Delivers `payload` as Stripe does: freshly signed each time (a redelivery is signed anew). */
function deliver(base: string, payload: string, allow500 = false) {
  const signature = Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: env.secrets.STRIPE_WEBHOOK_SECRET as string,
  });
  return call(base, "/webhooks/stripe", {
    method: "POST",
    headers: { "Stripe-Signature": signature, "Content-Type": "application/json" },
    body: payload,
    allow500,
    area,
  });
}

describe("faults: a Stripe webhook while Postgres is down", () => {
  it("answers 5xx (Stripe retries), and redeliveries, even concurrent ones, take effect exactly once", async () => {
    const mark = violationMark();
    const [key] = await accountWithKeys("free");
    if (!key) throw new Error("key");
    const payload = await upgradeEvent(key.accountId);
    const eventId = (JSON.parse(payload) as { id: string }).id;

    await stopService("postgres");
    const during = await deliver(a, payload, true);
    measure(
      "webhook during the Postgres outage",
      `${during.status} ${header(during, "content-type")} ${during.text.slice(0, 100)}`,
    );
    verify(
      during.status >= 500,
      area,
      () => `during the outage: ${during.status}, want a 5xx so Stripe retries`,
    );
    await startService("postgres");

    // Stripe retries; it may also deliver the same event more than once at the same time.
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => deliver(i % 2 ? b : a, payload, true)),
    );
    const statuses = answers.map(
      (answer) =>
        `${answer.status}:${answer.status === 200 ? (JSON.parse(answer.text) as { status: string }).status : ""}`,
    );
    measure("webhook redeliveries after recovery (10 at once)", statuses.join(" "));
    verify(
      answers.every((answer) => answer.status === 200),
      area,
      () => `redeliveries: ${statuses.join(" ")}`,
    );
    const processed = statuses.filter((status) => status === "200:processed").length;
    verify(
      processed === 1,
      area,
      () => `${processed} deliveries processed the event, want exactly 1: ${statuses.join(" ")}`,
    );

    const effects = await withDatabase(async (db) => ({
      claims: Number(
        (await db.query("select count(*) from stripe_events where id = $1", [eventId])).rows[0]?.count,
      ),
      tier: (await db.query("select tier from accounts where id = $1", [key.accountId])).rows[0]
        ?.tier as string,
      audits: Number(
        (
          await db.query(
            "select count(*) from audit_events where account_id = $1 and action = 'account.tier_changed'",
            [key.accountId],
          )
        ).rows[0]?.count,
      ),
    }));
    measure("webhook effects", JSON.stringify(effects));
    verify(
      effects.claims === 1 && effects.audits === 1 && effects.tier === "pro",
      area,
      () => `effects ${JSON.stringify(effects)}, want 1 claim, 1 tier change, tier pro`,
    );
    // And the edge applies it on the next request.
    const edge = await call(a, "/v1/hello", { apiKey: key.key, area });
    verify(
      header(edge, "ratelimit-policy")?.includes(`q=${plans.pro.rateLimit.requests};`) ?? false,
      area,
      () => `the edge still applies ${header(edge, "ratelimit-policy")}`,
    );
    expect(violationsSince(mark)).toEqual([]);
  });
});
