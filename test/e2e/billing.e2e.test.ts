import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plans } from "../../src/plans/plans.ts";
import type { Browser } from "./browser.ts";
import type { DevServer } from "./dev-server.ts";
import { closeE2e, openE2e } from "./session.ts";
import { signUpVerified } from "./sign-up.ts";

// Billing in a real browser against `npm run dev`: Upgrade on the portal, pay on the local Stripe stand-in's
// Checkout page (which sends signed webhooks to the gateway, as `stripe listen` does), see the pro limits in
// the portal and in the next response's RateLimit-Policy, schedule a change to basic at the period's end with
// its preview and keep the current plan instead, cancel in
// the stand-in's billing portal, and be back on free. Screenshots land in test-results/billing/.

const SHOTS = join(import.meta.dirname, "..", "..", "test-results", "billing");
const PASSWORD = "a passphrase for the billing e2e test";

let dev: DevServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  ({ dev, browser, page } = await openE2e(SHOTS, 15_000));
});
afterAll(() => closeE2e({ dev, browser }));

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** The window limit the next proxied response announces, e.g. 60 for `"minute";q=60;w=60`. */
async function windowLimit(key: string): Promise<number> {
  const response = await fetch(`${dev.url}/v1/hello`, { headers: { "X-API-Key": key } });
  expect(response.status).toBe(200);
  const policy = response.headers.get("RateLimit-Policy") ?? "";
  return Number(/q=(\d+);w=/.exec(policy)?.[1]);
}

/** Webhooks arrive after the redirect: reload the billing page until it shows `plan`. */
async function billingShows(plan: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await page.goto(`${dev.url}/portal/billing`);
    if ((await page.locator("#plan-title + p strong").textContent()) === plan) return;
    if (Date.now() > deadline) throw new Error(`the billing page never showed the ${plan} plan`);
    await page.waitForTimeout(300);
  }
}

describe("billing in Chromium", () => {
  it("upgrades through the local Checkout, changes plan with a preview, cancels, and is back on free", async () => {
    expect(dev.output.find((line) => line.startsWith("[dev] ready"))).toMatch(
      /stripe stand-in http:\/\/127\.0\.0\.1:\d+/,
    );
    const email = `billing-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
    await signUpVerified(page, dev, { email, password: PASSWORD });
    await page.getByLabel(/^Name/).fill("billing e2e");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByRole("heading", { name: "Your new key" }).waitFor();
    const key = ((await page.locator("#new-key").textContent()) ?? "").trim();
    expect(await windowLimit(key)).toBe(plans.free.rateLimit.requests);

    // Upgrade: the portal sends the browser to the stand-in's Checkout page.
    await page.goto(`${dev.url}/portal/billing`);
    await shot("01-billing-free");
    await page.getByRole("button", { name: /^Upgrade to Pro/ }).click();
    await page.getByRole("button", { name: /^Pay and subscribe/ }).waitFor();
    expect(await page.textContent("body")).toContain("$99.00 / month");
    await shot("02-checkout");
    await page.getByRole("button", { name: /^Pay and subscribe/ }).click();
    await page.waitForURL("**/portal/billing?checkout=success**");
    await billingShows("Pro");
    expect(await page.textContent("body")).toContain(
      `${(5_000_000).toLocaleString("en-US")} requests a month`,
    );
    await shot("03-billing-pro");
    expect(await windowLimit(key)).toBe(plans.pro.rateLimit.requests);

    // Change plan to basic: Stripe's preview first, then the change exactly as previewed.
    await page.getByRole("link", { name: /^Change to Basic/ }).click();
    await page.waitForURL("**/portal/billing/change?tier=basic");
    expect(await page.locator("#amount-due").textContent()).toMatch(/^Next invoice: /);
    await shot("04-change-preview");
    expect(await page.locator("#effective-at").textContent()).toContain("end of the current period");
    await page.getByRole("button", { name: "Confirm: change to Basic" }).click();
    // A downgrade waits for the period's end (PLAN_DOWNGRADE_TIMING=period_end): pro limits until then.
    await page.waitForURL("**/portal/billing?scheduled=basic");
    expect(await page.locator("#scheduled-change").textContent()).toContain("Changes to Basic on");
    await shot("05-change-scheduled");
    expect(await windowLimit(key)).toBe(plans.pro.rateLimit.requests);
    // Keep my current plan: the scheduled change is cancelled.
    await page.getByRole("button", { name: "Keep my current plan" }).click();
    await page.waitForURL("**/portal/billing?kept");
    expect(await page.locator("#scheduled-change").count()).toBe(0);
    expect(await windowLimit(key)).toBe(plans.pro.rateLimit.requests);

    // Cancel in the stand-in's billing portal; its webhook brings the account back to free.
    await page.getByRole("button", { name: "Manage billing" }).click();
    await page.getByRole("button", { name: "Cancel now" }).waitFor();
    await shot("06-billing-portal");
    await page.getByRole("button", { name: "Cancel now" }).click();
    await page.locator(".status", { hasText: "canceled" }).waitFor();
    await page.getByRole("link", { name: "← Return" }).click();
    await page.waitForURL("**/portal/billing");
    await billingShows("Free");
    await shot("07-billing-free-again");
    expect(await windowLimit(key)).toBe(plans.free.rateLimit.requests);
  });
});
