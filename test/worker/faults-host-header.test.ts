import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/config";
import worker from "../../src/index";
import { ADMIN_TOKEN, createAccount, linkInMail, stripeCalls, uniqueEmail } from "./support";

// Issue 18 item 12: the gateway's own absolute links (Checkout's success and cancel URLs, the billing
// portal's return_url, code samples, mail links) must not follow a client's Host header. In the runtime a
// request's URL is built from its Host header, so `Host: evil.example` arrives as http://evil.example/...

/** A request as a client sending `Host: evil.example` makes it, with some bindings changed. */
async function fromEvilHost(overrides: Partial<Bindings>, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const request = new Request(`http://evil.example${path}`, init);
  const response = await worker.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const asAdmin = (json: unknown): RequestInit => ({
  method: "POST",
  headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
  body: JSON.stringify(json),
});

const PORTAL_URL = "https://portal.acme.test";

describe("links the gateway makes about itself", () => {
  it("refuse to run live without PORTAL_URL rather than build Checkout URLs from the Host header", async () => {
    const account = await createAccount("free");
    const response = await fromEvilHost(
      { KEY_ENVIRONMENT: "live" },
      `/admin/v1/accounts/${account.id}/checkout-session`,
      asAdmin({ tier: "basic" }),
    );
    expect(response.status).toBe(500);
    expect(response.headers.get("Content-Type")).toContain("application/problem+json");
    const body = await response.text();
    expect(body).toContain("/problems/misconfigured");
    expect(body).toContain("PORTAL_URL is required when KEY_ENVIRONMENT is live");
    expect(body).not.toContain("evil.example");
    const sessions = (await stripeCalls()).filter(
      (call) => call.path === "/v1/checkout/sessions" && call.params.client_reference_id === account.id,
    );
    expect(sessions).toEqual([]);
  });

  it("build Checkout returns, code samples and mail links on PORTAL_URL whatever the Host header says", async () => {
    const account = await createAccount("free");
    const checkout = await fromEvilHost(
      { PORTAL_URL },
      `/admin/v1/accounts/${account.id}/checkout-session`,
      asAdmin({ tier: "basic" }),
    );
    expect(checkout.status, await checkout.clone().text()).toBe(201);
    const [session] = (await stripeCalls()).filter(
      (call) => call.path === "/v1/checkout/sessions" && call.params.client_reference_id === account.id,
    );
    expect(session?.params.success_url).toBe(
      `${PORTAL_URL}/portal/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
    );
    expect(session?.params.cancel_url).toBe(`${PORTAL_URL}/portal/billing?checkout=cancelled`);

    const document = await fromEvilHost({ PORTAL_URL }, "/openapi.json");
    expect(document.status).toBe(200);
    const text = await document.text();
    expect(text).toContain(`curl '${PORTAL_URL}/v1/`);
    expect(text).not.toContain("evil.example");

    const email = uniqueEmail();
    const invited = await fromEvilHost({ PORTAL_URL }, "/admin/v1/invitations", asAdmin({ email }));
    expect(invited.status, await invited.clone().text()).toBe(201);
    const link = await linkInMail(email, "/portal/invitation");
    expect(link.startsWith(`${PORTAL_URL}/portal/`)).toBe(true);
  });
});
