import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { accounts } from "../../src/db/schema/accounts";
import { portalApi, portalDeveloper, portalForm, stripeCalls, withDatabase } from "./support";

const standinBase = env.STRIPE_API_BASE as string;

const checkoutsOf = async (accountId: string) =>
  (await stripeCalls()).filter(
    (call) => call.path === "/v1/checkout/sessions" && call.params.client_reference_id === accountId,
  );

describe("portal billing", () => {
  it("shows the plan and the upgrades for sale; Upgrade goes to Stripe Checkout for that account", async () => {
    const { client, accountId } = await portalDeveloper();
    const summary = await portalApi(client, "/billing");
    expect(summary.status).toBe(200);
    expect(await summary.json()).toMatchObject({
      tier: "free",
      plan: { name: "Free", monthlyQuota: 10_000 },
      pastDueSince: null,
      canManage: false,
      upgrades: [
        { tier: "basic", name: "Basic" },
        { tier: "pro", name: "Pro" },
      ],
    });
    const page = await (await client.fetch("/portal/billing")).text();
    expect(page).toContain("Upgrade to Basic ($19/month)");
    expect(page).not.toContain("Manage billing");
    // The page's CSP lets its forms be redirected to Stripe (here: the stand-in), and nowhere else.
    const csp = (await client.fetch("/portal/billing")).headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain(`form-action 'self' ${new URL(standinBase).origin}`);

    const upgrade = await portalForm(client, "/portal/billing/checkout", { tier: "basic" });
    expect(upgrade.status).toBe(303);
    const location = upgrade.headers.get("Location") ?? "";
    expect(location.startsWith(`${standinBase}/c/pay/cs_test_`)).toBe(true);
    const [session] = await checkoutsOf(accountId);
    expect(session?.params).toMatchObject({
      mode: "subscription",
      client_reference_id: accountId,
      line_items: [{ price: "price_basic_test", quantity: "1" }],
      success_url: "http://gateway.test/portal/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}",
    });

    // Checkout made the Stripe customer: "Manage billing" now opens the billing portal.
    const api = await portalApi(client, "/billing/portal", { method: "POST" });
    expect(api.status).toBe(201);
    expect(((await api.json()) as { url: string }).url.startsWith(`${standinBase}/p/session/`)).toBe(true);
    expect(await (await client.fetch("/portal/billing")).text()).toContain("Manage billing");
    const manage = await portalForm(client, "/portal/billing/manage", {});
    expect(manage.status).toBe(303);
    expect(manage.headers.get("Location")?.startsWith(`${standinBase}/p/session/`)).toBe(true);

    const viaApi = await portalApi(client, "/billing/checkout", { method: "POST", json: { tier: "pro" } });
    expect(viaApi.status).toBe(201);
    expect((await checkoutsOf(accountId)).length).toBe(2);
  });

  it("refuses billing actions without the session's CSRF token and a tier that is not for sale", async () => {
    const { client, accountId } = await portalDeveloper();
    const forged = await client.fetch("/portal/billing/checkout", {
      method: "POST",
      form: { tier: "basic" },
    });
    expect(forged.status).toBe(403);
    expect(
      (await portalApi(client, "/billing/checkout", { method: "POST", json: { tier: "free" } })).status,
    ).toBe(409);
    expect(
      (await portalApi(client, "/billing/checkout", { method: "POST", json: { tier: "gold" } })).status,
    ).toBe(400);
    expect(await checkoutsOf(accountId)).toEqual([]);
  });

  it("says plainly when a payment is past due, and until when the plan is kept", async () => {
    const { client, accountId } = await portalDeveloper();
    const since = new Date(Date.now() - 2 * 86_400_000);
    await withDatabase((db) =>
      db
        .update(accounts)
        .set({ tier: "basic", subscribedTier: "basic", subscriptionStatus: "past_due", pastDueSince: since })
        .where(eq(accounts.id, accountId)),
    );
    const summary = (await (await portalApi(client, "/billing")).json()) as Record<string, unknown>;
    expect(summary).toMatchObject({
      tier: "basic",
      subscriptionStatus: "past_due",
      pastDueSince: since.toISOString(),
    });
    expect(Date.parse(summary.downgradeAt as string)).toBe(since.getTime() + 7 * 86_400_000);
    const page = await (await client.fetch("/portal/billing")).text();
    expect(page).toContain("Your payment is past due");
    expect(page).toContain("Payment past due");
    expect(page).toContain('<div class="alert" role="alert">');
  });
});
