import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "./browser.ts";
import type { DevServer } from "./dev-server.ts";
import { openMail, outboxUrl } from "./outbox.ts";
import { closeE2e, openE2e } from "./session.ts";

// Portal accounts in a real browser against `npm run dev`: sign up, open the local mail outbox, click the
// verification link, create a key; forget the password, reset it from the outbox, log in. Screenshots of
// every step land in test-results/accounts/.

const SHOTS = join(import.meta.dirname, "..", "..", "test-results", "accounts");
const PASSWORD = "a passphrase for the accounts test";
const NEW_PASSWORD = "a new passphrase after the reset";

let dev: DevServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  ({ dev, browser, page } = await openE2e(SHOTS, 10_000));
});
afterAll(() => closeE2e({ dev, browser }));

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const email = `accounts-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;

async function logIn(password: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL("**/portal/keys");
}

describe("portal accounts in Chromium", () => {
  it("prints the outbox in npm run dev's ready line", () => {
    expect(outboxUrl(dev)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/outbox$/);
  });

  it("signs up, opens the outbox, clicks the verification link and creates a key", async () => {
    await page.goto(`${dev.url}/portal/signup`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await shot("01-signup");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL("**/portal/login?signed_up=1");
    expect(await page.getByRole("status").textContent()).toContain("sent a link to confirm the address");
    await logIn(PASSWORD);

    // Not verified yet: creating a key leads to the settings page, which says what to do.
    await page.getByLabel(/^Name/).fill("too early");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.waitForURL("**/portal/settings?notice=verify-first");
    expect(await page.getByRole("alert").first().textContent()).toContain("Confirm your email address first");
    await shot("02-verify-first");

    await page.goto(outboxUrl(dev));
    await shot("03-outbox");
    await openMail(page, dev, email, /Confirm your email/);
    await shot("04-verification-mail");
    await page.getByRole("link", { name: "Confirm my email" }).click();
    await page.waitForURL("**/portal/verify?token=*");
    await shot("05-verify-page");
    await page.getByRole("button", { name: "Confirm my email" }).click();
    await page.waitForURL("**/portal/settings?notice=verified");
    expect(await page.getByRole("status").textContent()).toContain("confirmed");
    expect(await page.locator(".badge").first().textContent()).toBe("verified");
    await shot("06-verified");

    await page.goto(`${dev.url}/portal/keys`);
    await page.getByLabel(/^Name/).fill("verified laptop");
    await page.getByRole("button", { name: "Create key" }).click();
    const key = (await page.locator("#new-key").textContent())?.trim() ?? "";
    expect(key).toMatch(/^gw_test_[0-9A-Za-z]{38}$/);
    await shot("07-key-created");
  });

  it("forgets the password, resets it from the outbox and logs in with the new one", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await page.goto(`${dev.url}/portal/login`);
    await page.getByRole("link", { name: "Reset it" }).click();
    await page.waitForURL("**/portal/forgot");
    await page.getByLabel("Email").fill(email);
    await shot("08-forgot");
    await page.getByRole("button", { name: "Send me a link" }).click();
    expect(await page.getByRole("status").textContent()).toContain("If an account uses this email address");
    await shot("09-forgot-sent");

    await openMail(page, dev, email, /Reset your/);
    await shot("10-reset-mail");
    await page.getByRole("link", { name: "Choose a new password" }).click();
    await page.waitForURL("**/portal/reset?token=*");
    const resetUrl = page.url();
    await page.getByLabel(/^New password/).fill(NEW_PASSWORD);
    await shot("11-reset-page");
    await page.getByRole("button", { name: "Set new password" }).click();
    await page.waitForURL("**/portal/login?notice=password-reset");
    expect(await page.getByRole("status").textContent()).toContain("new password is set");
    await shot("12-login-after-reset");

    // The old password is refused, the new one works.
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("not correct");
    await logIn(NEW_PASSWORD);
    expect(await page.locator(".who").textContent()).toContain(email);
    await shot("13-logged-in");

    // The reset link worked once.
    await page.goto(resetUrl);
    expect(await page.getByRole("alert").textContent()).toContain("not valid");
    await shot("14-reset-link-used");
  });
});
