import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/config";
import { plans } from "../../src/plans/plans";
import { advancePeriod, BASIC, CARD_3DS, stripe, stripeCustomerAccount, subscribe } from "./billing-support";
import {
  ADMIN_TOKEN,
  accountRow,
  admin,
  BASE,
  createAccount,
  gateway,
  gatewayWith,
  problemOf,
  type StripeCall,
  stripeCalls,
} from "./support";

// The admin routes for self-serve purchase, against the local Stripe stand-in (scripts/stack/stripe-standin.ts),
// which checks what Stripe checks and records what it received.

const checkout = (accountId: string, tier: string) =>
  admin(`/accounts/${accountId}/checkout-session`, { method: "POST", json: { tier } });
const billingPortal = (accountId: string) =>
  admin(`/accounts/${accountId}/billing-portal-session`, { method: "POST" });

/** The same admin call with some bindings changed (missing or wrong Stripe settings, a PORTAL_URL). */
const checkoutWith = (overrides: Partial<Bindings>, accountId: string, tier: string) =>
  gatewayWith(overrides, `/admin/v1/accounts/${accountId}/checkout-session`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ tier }),
  });

const callsFor = async (match: (call: StripeCall) => boolean) => (await stripeCalls()).filter(match);
const sessionsOf = (accountId: string) =>
  callsFor((call) => call.path === "/v1/checkout/sessions" && call.params.client_reference_id === accountId);
const customersCreatedFor = (accountId: string) =>
  callsFor(
    (call) =>
      call.path === "/v1/customers" &&
      (call.params.metadata as Record<string, string> | undefined)?.account_id === accountId,
  );

describe("checkout sessions", () => {
  it("creates the customer once, stores it, and reuses it on the next checkout", async () => {
    const account = await createAccount("free");
    const first = await checkout(account.id, "basic");
    expect(first.status, await first.clone().text()).toBe(201);
    expect(first.headers.get("Cache-Control")).toBe("no-store");
    const session = (await first.json()) as { id: string; url: string };
    expect(session.id).toMatch(/^cs_test_/);
    expect(session.url).toContain(session.id);

    const customer = (await accountRow(account.id)).stripeCustomerId;
    expect(customer).toMatch(/^cus_/);
    const created = await customersCreatedFor(account.id);
    expect(created).toHaveLength(1);
    expect(created[0]?.params).toMatchObject({ email: account.email });
    expect(created[0]?.idempotencyKey).toMatch(new RegExp(`^gateway-customer-${account.id}-\\d+-none$`));

    const [recorded] = await sessionsOf(account.id);
    expect(recorded?.status).toBe(200);
    expect(recorded?.params).toEqual({
      mode: "subscription",
      customer,
      client_reference_id: account.id,
      line_items: [{ price: plans.basic.stripePriceIds.test[0], quantity: "1" }],
      success_url: `${BASE}/portal/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${BASE}/portal/billing?checkout=cancelled`,
      metadata: { account_id: account.id, tier: "basic" },
      subscription_data: { metadata: { account_id: account.id, tier: "basic" } },
    });

    expect((await checkout(account.id, "pro")).status).toBe(201);
    expect(await customersCreatedFor(account.id)).toHaveLength(1);
    const sessions = await sessionsOf(account.id);
    expect(sessions).toHaveLength(2);
    expect(sessions[1]?.params.customer).toBe(customer);
  });

  it("sells a metered tier's usage price next to its own, and returns to PORTAL_URL when set", async () => {
    const account = await createAccount("free");
    const response = await checkoutWith({ PORTAL_URL: "https://portal.example.test/" }, account.id, "pro");
    expect(response.status, await response.clone().text()).toBe(201);
    const [recorded] = await sessionsOf(account.id);
    expect(recorded?.params.line_items).toEqual([
      { price: plans.pro.stripePriceIds.test[0], quantity: "1" },
      { price: plans.pro.stripeMeteredPriceIds.test[0] },
    ]);
    expect(recorded?.params.cancel_url).toBe("https://portal.example.test/portal/billing?checkout=cancelled");
  });

  it("refuses a tier that is not for sale (400), an unknown account (404) and no admin token (401)", async () => {
    const account = await createAccount("free");
    const free = await checkout(account.id, "free");
    expect(free.status).toBe(400);
    expect((await problemOf(free)).type).toBe("/problems/validation-failed");
    expect((await checkout("acct_doesnotexist0000000", "pro")).status).toBe(404);
    const anonymous = await gateway(`/admin/v1/accounts/${account.id}/checkout-session`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tier: "pro" }),
    });
    expect(anonymous.status).toBe(401);
    expect(await sessionsOf(account.id)).toHaveLength(0);
  });

  it("refuses Checkout while ANY subscription is not ended, incomplete included, as Stripe says now (409)", async () => {
    const { account, customer } = await stripeCustomerAccount(CARD_3DS);
    // A 3-D Secure payment left waiting: Stripe has an incomplete subscription; no webhook was delivered.
    const waiting = await subscribe(customer, [BASIC]);
    expect(waiting.status).toBe("incomplete");
    const response = await checkout(account.id, "pro");
    expect(response.status).toBe(409);
    const problem = await problemOf(response);
    expect(problem.detail).toMatch(/already has a subscription/);
    expect(problem.manageBilling).toBe(`${BASE}/portal/billing`);
    // Once it has ended (Stripe expires it), Checkout is open again; an earlier open session is expired.
    await advancePeriod(waiting.id);
    const first = await checkout(account.id, "pro");
    expect(first.status).toBe(201);
    const second = await checkout(account.id, "pro");
    expect(second.status).toBe(201);
    const open = await stripe.checkout.sessions.list({ customer, status: "open" });
    expect(open.data.map((session) => session.id)).toEqual([((await second.json()) as { id: string }).id]);
  });

  it("answers 503 when STRIPE_SECRET_KEY is missing, and 502 without the key when Stripe refuses it", async () => {
    const account = await createAccount("free");
    const missing = await checkoutWith({ STRIPE_SECRET_KEY: "" }, account.id, "pro");
    expect(missing.status).toBe(503);
    expect(await problemOf(missing)).toMatchObject({
      type: "/problems/billing-not-configured",
      detail: "STRIPE_SECRET_KEY is not set.",
    });

    const wrongKey = "pk_test_publishableNotSecret123";
    const refused = await checkoutWith({ STRIPE_SECRET_KEY: wrongKey }, account.id, "pro");
    expect(refused.status).toBe(502);
    const body = await refused.text();
    expect(JSON.parse(body)).toMatchObject({ type: "/problems/payment-provider-error", status: 502 });
    expect(body).toContain("401");
    expect(body).not.toContain("publishable");
    expect((await accountRow(account.id)).stripeCustomerId).toBeNull();
  });
});

describe("billing portal sessions", () => {
  it("answers 409 before the account has a Stripe customer, then opens the portal for it", async () => {
    const account = await createAccount("free");
    const before = await billingPortal(account.id);
    expect(before.status).toBe(409);
    expect(await problemOf(before)).toMatchObject({ type: "/problems/conflict" });

    expect((await checkout(account.id, "basic")).status).toBe(201);
    const customer = (await accountRow(account.id)).stripeCustomerId;
    const after = await billingPortal(account.id);
    expect(after.status, await after.clone().text()).toBe(201);
    expect(((await after.json()) as { url: string }).url).toMatch(/^http/);
    const portals = await callsFor(
      (call) => call.path === "/v1/billing_portal/sessions" && call.params.customer === customer,
    );
    expect(portals).toHaveLength(1);
    expect(portals[0]?.params.return_url).toBe(`${BASE}/portal/billing`);
  });

  it("is documented in the admin OpenAPI document", async () => {
    const document = (await (await admin("/openapi.json")).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(["/accounts/{id}/checkout-session", "/accounts/{id}/billing-portal-session"]),
    );
  });
});
