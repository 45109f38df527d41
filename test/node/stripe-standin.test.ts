import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  decodeStripeForm,
  type StripeStandin,
  startStripeStandin,
} from "../../scripts/stack/stripe-standin.ts";

// The Stripe stand-in the worker tests and `npm run dev` use: driven here by the real stripe package, the way
// the worker drives it (fetch client, host/port/protocol), plus raw requests for what the SDK never sends.

const SECRET_KEY = "sk_test_standinNodeTest123";

let standin: StripeStandin;
let stripe: Stripe;

beforeAll(async () => {
  standin = await startStripeStandin();
  const url = new URL(standin.url);
  stripe = new Stripe(SECRET_KEY, {
    httpClient: Stripe.createFetchHttpClient(),
    host: url.hostname,
    port: url.port,
    protocol: "http",
    maxNetworkRetries: 0,
  });
});
afterAll(async () => {
  await standin?.close();
});
beforeEach(async () => {
  await fetch(`${standin.url}/__standin/calls`, { method: "POST" });
});

const clientFor = (url: string) => {
  const base = new URL(url);
  return new Stripe(SECRET_KEY, {
    httpClient: Stripe.createFetchHttpClient(),
    host: base.hostname,
    port: base.port,
    protocol: "http",
  });
};

/** The error a Stripe call failed with. */
async function failure(
  call: () => Promise<unknown>,
): Promise<InstanceType<typeof Stripe.errors.StripeError>> {
  try {
    await call();
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) return error;
    throw error;
  }
  throw new Error("the call did not fail");
}

/** Loosely typed: the tests read fields of Stripe objects and of Stripe's error shape. */
interface StandinJson {
  id: string;
  livemode: boolean;
  calls: unknown[];
  error: { type: string; message: string };
}

async function raw(path: string, init: RequestInit = {}) {
  const response = await fetch(`${standin.url}${path}`, init);
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as StandinJson,
  };
}

const form = (body: Record<string, string>) => ({
  method: "POST",
  headers: { Authorization: `Bearer ${SECRET_KEY}`, "Content-Type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(body).toString(),
});

describe("stripe stand-in: the calls the gateway makes", () => {
  it("creates customers, and records the decoded form and the SDK's idempotency key, never the secret key", async () => {
    const customer = await stripe.customers.create({
      email: "dev@example.com",
      metadata: { account_id: "acct_1" },
    });
    expect(customer).toMatchObject({ object: "customer", email: "dev@example.com", livemode: false });
    expect(customer.id).toMatch(/^cus_/);
    expect(standin.calls).toHaveLength(1);
    expect(standin.calls[0]).toMatchObject({
      method: "POST",
      path: "/v1/customers",
      params: { email: "dev@example.com", metadata: { account_id: "acct_1" } },
      status: 200,
    });
    expect(standin.calls[0]?.idempotencyKey).toMatch(/^stripe-node-retry-/);
    expect(JSON.stringify(standin.calls)).not.toContain(SECRET_KEY);
  });

  it("creates Checkout sessions from Stripe's bracket encoding, for a customer that exists", async () => {
    const customer = await stripe.customers.create({});
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      client_reference_id: "acct_1",
      line_items: [{ price: "price_pro_test", quantity: 1 }, { price: "price_pro_usage_test" }],
      success_url: "https://portal.test/portal/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}",
      cancel_url: "https://portal.test/portal/billing?checkout=cancelled",
      subscription_data: { metadata: { tier: "pro" } },
    });
    expect(session).toMatchObject({
      object: "checkout.session",
      mode: "subscription",
      customer: customer.id,
    });
    expect(session.id).toMatch(/^cs_test_/);
    expect(session.url).toContain(session.id);
    expect(standin.calls.at(-1)?.params).toMatchObject({
      client_reference_id: "acct_1",
      line_items: [{ price: "price_pro_test", quantity: "1" }, { price: "price_pro_usage_test" }],
      subscription_data: { metadata: { tier: "pro" } },
    });
  });

  it("refuses what Stripe refuses: a missing mode or line items, an unknown customer, a bad URL", async () => {
    const noMode = await failure(() =>
      stripe.checkout.sessions.create({} as Stripe.Checkout.SessionCreateParams),
    );
    expect(noMode).toMatchObject({ statusCode: 400, code: "parameter_missing", param: "mode" });
    expect(noMode).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    const noItems = await failure(() => stripe.checkout.sessions.create({ mode: "subscription" }));
    expect(noItems).toMatchObject({ statusCode: 400, param: "line_items" });
    const unknown = await failure(() =>
      stripe.checkout.sessions.create({
        mode: "subscription",
        customer: "cus_nobody",
        line_items: [{ price: "price_x" }],
      }),
    );
    expect(unknown).toMatchObject({ statusCode: 400, code: "resource_missing", param: "customer" });
    const unknownPrice = await failure(() =>
      stripe.checkout.sessions.create({ mode: "subscription", line_items: [{ price: "price_x" }] }),
    );
    expect(unknownPrice).toMatchObject({
      statusCode: 400,
      code: "resource_missing",
      param: "line_items[0][price]",
    });
    const badUrl = await failure(() =>
      stripe.checkout.sessions.create({
        mode: "payment",
        line_items: [{ price: "price_basic_test" }],
        success_url: "nope",
      }),
    );
    expect(badUrl).toMatchObject({ statusCode: 400, param: "success_url" });
  });

  it("opens billing portal sessions only for an existing customer", async () => {
    const missing = await failure(() => stripe.billingPortal.sessions.create({} as never));
    expect(missing).toMatchObject({ statusCode: 400, param: "customer" });
    const customer = await stripe.customers.create({});
    const session = await stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: "https://portal.test/portal/billing",
    });
    expect(session).toMatchObject({ object: "billing_portal.session", customer: customer.id });
    expect(session.url).toMatch(/^http/);
  });

  it("takes meter events, checks payload and timestamp, and refuses a repeated identifier like Stripe", async () => {
    const event = {
      event_name: "api_requests",
      identifier: "acct_1:2026-01-01:0-10",
      payload: { stripe_customer_id: "cus_1", value: "10" },
    };
    expect(await stripe.billing.meterEvents.create(event)).toMatchObject({
      object: "billing.meter_event",
      identifier: event.identifier,
      payload: event.payload,
    });
    const duplicate = await failure(() => stripe.billing.meterEvents.create(event));
    expect(duplicate).toMatchObject({ statusCode: 400 });
    expect(duplicate.message).toBe(`An event already exists with identifier ${event.identifier}.`);

    const noValue = await failure(() =>
      stripe.billing.meterEvents.create({
        event_name: "api_requests",
        payload: { stripe_customer_id: "cus_1" },
      }),
    );
    expect(noValue).toMatchObject({ statusCode: 400, param: "payload[value]" });
    const tooOld = await failure(() =>
      stripe.billing.meterEvents.create({
        ...event,
        identifier: "old",
        timestamp: Math.floor(Date.now() / 1000) - 36 * 86_400,
      }),
    );
    expect(tooOld).toMatchObject({ statusCode: 400, param: "timestamp" });
  });

  it("runs a subscription's life: create, list, preview and apply a prorated change, cancel, with events", async () => {
    const customer = await stripe.customers.create({
      email: "life@example.com",
      invoice_settings: { default_payment_method: "pm_card_visa" },
    });
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: "price_basic_test" }],
    });
    expect(subscription.status).toBe("active");
    const base = subscription.items.data[0] as Stripe.SubscriptionItem;
    const change = [{ id: base.id, price: "price_pro_test" }, { price: "price_pro_usage_test" }];
    const preview = await stripe.invoices.createPreview({
      customer: customer.id,
      subscription: subscription.id,
      subscription_details: { items: change, proration_behavior: "always_invoice" },
    });
    // Unused basic time credited, remaining pro time charged: about 99 - 19 dollars on the first day.
    expect(preview.amount_due).toBeGreaterThan(7900);
    expect(preview.amount_due).toBeLessThanOrEqual(8000);
    const updated = await stripe.subscriptions.update(subscription.id, {
      items: change,
      proration_behavior: "always_invoice",
    });
    expect(updated.items.data.map((item) => item.price.id)).toEqual([
      "price_pro_test",
      "price_pro_usage_test",
    ]);
    const latest = await stripe.invoices.retrieve(updated.latest_invoice as string);
    expect(latest).toMatchObject({ status: "paid", amount_paid: preview.amount_due });

    await stripe.subscriptions.cancel(subscription.id);
    expect((await stripe.subscriptions.list({ customer: customer.id })).data).toHaveLength(0);
    const all = await stripe.subscriptions.list({ customer: customer.id, status: "all" });
    expect(all.data.map((item) => item.status)).toEqual(["canceled"]);
    const unknown = await failure(() => stripe.subscriptions.retrieve("sub_nobody"));
    expect(unknown).toMatchObject({ statusCode: 404, code: "resource_missing" });

    const events = (await stripe.events.list({ limit: 100 })).data
      .filter((event) => JSON.stringify(event.data.object).includes(customer.id))
      .map((event) => event.type)
      .reverse();
    expect(events).toEqual([
      "customer.created",
      "customer.subscription.created",
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
      "customer.subscription.updated",
      "customer.subscription.updated",
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
      "customer.subscription.deleted",
    ]);
  });

  it("refuses a proration date outside the current period, as Stripe does, instead of clamping it", async () => {
    const customer = await stripe.customers.create({
      invoice_settings: { default_payment_method: "pm_card_visa" },
    });
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: "price_basic_test" }],
    });
    const base = subscription.items.data[0] as Stripe.SubscriptionItem;
    const change = [{ id: base.id, price: "price_pro_test" }];
    const message = "Cannot specify proration date outside of current subscription period";
    for (const date of [1, base.current_period_start - 1, base.current_period_end + 1]) {
      const previewed = await failure(() =>
        stripe.invoices.createPreview({
          customer: customer.id,
          subscription: subscription.id,
          subscription_details: { items: change, proration_behavior: "always_invoice", proration_date: date },
        }),
      );
      expect(previewed, `preview at ${date}`).toMatchObject({
        statusCode: 400,
        type: "StripeInvalidRequestError",
        message,
        param: "subscription_details[proration_date]",
      });
      const updated = await failure(() =>
        stripe.subscriptions.update(subscription.id, {
          items: change,
          proration_behavior: "always_invoice",
          proration_date: date,
        }),
      );
      expect(updated, `update at ${date}`).toMatchObject({
        statusCode: 400,
        type: "StripeInvalidRequestError",
        message,
        param: "proration_date",
      });
    }
    // Nothing was changed or invoiced by the refused updates.
    const after = await stripe.subscriptions.retrieve(subscription.id);
    expect(after.items.data.map((item) => item.price.id)).toEqual(["price_basic_test"]);
    // A date inside the period is taken: the period's start prorates the whole period.
    const whole = await stripe.invoices.createPreview({
      customer: customer.id,
      subscription: subscription.id,
      subscription_details: {
        items: change,
        proration_behavior: "always_invoice",
        proration_date: base.current_period_start,
      },
    });
    expect(whole.amount_due).toBe(9900 - 1900);
  });

  it("lists only the invoices of the subscription asked for", async () => {
    const customer = await stripe.customers.create({
      invoice_settings: { default_payment_method: "pm_card_visa" },
    });
    const first = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: "price_basic_test" }],
    });
    const second = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: "price_pro_test" }],
    });
    const ofFirst = await stripe.invoices.list({ subscription: first.id });
    expect(ofFirst.data.map((invoice) => invoice.id)).toEqual([first.latest_invoice]);
    const ofSecond = await stripe.invoices.list({ customer: customer.id, subscription: second.id });
    expect(ofSecond.data.map((invoice) => invoice.id)).toEqual([second.latest_invoice]);
    expect((await stripe.invoices.list({ customer: customer.id })).data).toHaveLength(2);
  });

  it("deletes customers as Stripe does: subscriptions canceled, then retrieve answers deleted", async () => {
    const customer = await stripe.customers.create({
      invoice_settings: { default_payment_method: "pm_card_visa" },
    });
    await stripe.subscriptions.create({ customer: customer.id, items: [{ price: "price_basic_test" }] });
    expect(await stripe.customers.del(customer.id)).toEqual({
      id: customer.id,
      object: "customer",
      deleted: true,
    });
    expect(await stripe.customers.retrieve(customer.id)).toMatchObject({ deleted: true });
    const all = await stripe.subscriptions.list({ customer: customer.id, status: "all" });
    expect(all.data.map((item) => item.status)).toEqual(["canceled"]);
  });
});

describe("stripe stand-in: state and hosted pages", () => {
  it("keeps its customers and subscriptions across a restart (state file)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "standin-"));
    const stateFile = join(dir, "state.json");
    try {
      const first = await startStripeStandin({ stateFile });
      const client = clientFor(first.url);
      const customer = await client.customers.create({ email: "keep@example.com" });
      await first.close();
      const second = await startStripeStandin({ stateFile });
      const again = await clientFor(second.url).customers.retrieve(customer.id);
      expect(again).toMatchObject({ id: customer.id, email: "keep@example.com" });
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pays on its Checkout page and sends the events signed to the webhook, as `stripe listen` does", async () => {
    const secret = "whsec_standin_node_test";
    const received: Stripe.Event[] = [];
    const receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        // Verified exactly as the gateway verifies: a wrong signature throws.
        received.push(Stripe.webhooks.constructEvent(body, String(req.headers["stripe-signature"]), secret));
        res.end("{}");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const port = (receiver.address() as AddressInfo).port;
    const hooked = await startStripeStandin({
      webhook: { url: `http://127.0.0.1:${port}/webhooks/stripe`, secret },
    });
    try {
      const client = clientFor(hooked.url);
      const customer = await client.customers.create({ email: "buyer@example.com" });
      const session = await client.checkout.sessions.create({
        mode: "subscription",
        customer: customer.id,
        line_items: [{ price: "price_pro_test", quantity: 1 }, { price: "price_pro_usage_test" }],
        success_url: "https://portal.test/portal/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}",
        cancel_url: "https://portal.test/portal/billing",
      });
      const page = await fetch(session.url as string);
      expect(await page.text()).toContain("Pay and subscribe");
      const paid = await fetch(session.url as string, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: "card=pm_card_visa",
        redirect: "manual",
      });
      expect(paid.status).toBe(303);
      expect(paid.headers.get("location")).toBe(
        `https://portal.test/portal/billing?checkout=success&session_id=${session.id}`,
      );
      await hooked.webhooksIdle();
      const types = received.map((event) => event.type);
      expect(types).toContain("customer.subscription.created");
      expect(types.at(-1)).toBe("checkout.session.completed");
      const completed = received.at(-1)?.data.object as Stripe.Checkout.Session;
      expect(completed).toMatchObject({ status: "complete", payment_status: "paid", customer: customer.id });
      expect((await client.subscriptions.retrieve(completed.subscription as string)).status).toBe("active");
    } finally {
      await hooked.close();
      receiver.close();
    }
  });
});

describe("stripe stand-in: what every request must get right", () => {
  it("requires a secret key (Bearer, or Basic as curl -u sends it) and answers in Stripe's error shape", async () => {
    const none = await raw("/v1/customers", { method: "POST" });
    expect(none.status).toBe(401);
    expect(none.json.error).toMatchObject({ type: "invalid_request_error" });
    expect(none.json.error.message).toMatch(/did not provide an API key/);
    const publishable = await raw("/v1/customers", {
      ...form({}),
      headers: {
        Authorization: "Bearer pk_test_notSecret9999",
        "Content-Type": "application/x-www-form-urlencoded",
      },
    });
    expect(publishable.status).toBe(401);
    expect(publishable.json.error.message).toBe("Invalid API Key provided: pk_test_****9999");
    const basic = await raw("/v1/customers", {
      ...form({ email: "a@b.co" }),
      headers: {
        Authorization: `Basic ${Buffer.from(`${SECRET_KEY}:`).toString("base64")}`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
    });
    expect(basic.status).toBe(200);
    const live = await raw("/v1/customers", {
      ...form({}),
      headers: {
        Authorization: `Bearer ${["sk", "live", "abc"].join("_")}`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
    });
    expect(live.json.livemode).toBe(true);
  });

  it("refuses a JSON body: Stripe's API takes application/x-www-form-urlencoded", async () => {
    const response = await raw("/v1/customers", {
      method: "POST",
      headers: { Authorization: `Bearer ${SECRET_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ email: "a@b.co" }),
    });
    expect(response.status).toBe(400);
    expect(response.json.error.message).toMatch(/application\/x-www-form-urlencoded/);
  });

  it("replays an idempotent POST, and refuses the same key with other parameters", async () => {
    const init = (email: string) => ({
      ...form({ email }),
      headers: { ...form({}).headers, "Idempotency-Key": "key-1" },
    });
    const first = await raw("/v1/customers", init("a@b.co"));
    const again = await raw("/v1/customers", init("a@b.co"));
    expect(again.json.id).toBe(first.json.id);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    const other = await raw("/v1/customers", init("c@d.co"));
    expect(other.status).toBe(400);
    expect(other.json.error.type).toBe("idempotency_error");
  });

  it("answers unknown endpoints with Stripe's 404", async () => {
    const response = await raw("/v1/charges", form({}));
    expect(response.status).toBe(404);
    expect(response.json.error.message).toMatch(/Unrecognized request URL \(POST: \/v1\/charges\)/);
  });

  it("lets tests read and clear the record over HTTP", async () => {
    await stripe.customers.create({});
    const read = await raw("/__standin/calls");
    expect(read.json.calls).toHaveLength(1);
    await raw("/__standin/calls", { method: "POST" });
    expect((await raw("/__standin/calls")).json.calls).toHaveLength(0);
  });
});

describe("stripe stand-in: form decoding", () => {
  it("decodes nested objects, indexed and pushed arrays", () => {
    expect(
      decodeStripeForm(
        "a=1&metadata[tier]=pro&line_items[1][price]=p2&line_items[0][price]=p1&expand[]=x&expand[]=y",
      ),
    ).toEqual({
      a: "1",
      metadata: { tier: "pro" },
      line_items: [{ price: "p1" }, { price: "p2" }],
      expand: ["x", "y"],
    });
  });

  it("refuses parameter names that would reach the prototype or are malformed", () => {
    expect(() => decodeStripeForm("__proto__[x]=1")).toThrow(/Invalid parameter name/);
    expect(() => decodeStripeForm("a]b=1")).toThrow(/Invalid parameter name/);
  });
});
