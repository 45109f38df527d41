import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "./browser.ts";
import type { DevServer } from "./dev-server.ts";
import { closeE2e, openE2e } from "./session.ts";
import { signUpVerified } from "./sign-up.ts";

// The developer's journey in a real browser against `npm run dev`: sign up, a key, a call, the usage it
// made, rotation, revocation; then a second developer who sees nothing of the first. Screenshots of every
// page are kept in test-results/portal/ for people to look at.

const SHOTS = join(import.meta.dirname, "..", "..", "test-results", "portal");
const PASSWORD = "a passphrase for the e2e test";

let dev: DevServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  ({ dev, browser, page } = await openE2e(SHOTS, 10_000));
});
afterAll(() => closeE2e({ dev, browser }));

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const uniqueEmail = (who: string) => `${who}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;

async function signUpAndLogIn(email: string, screenshots: boolean) {
  await page.goto(`${dev.url}/portal`);
  if (screenshots) await shot("01-home");
  await page.getByRole("link", { name: "Sign up free" }).click();
  const on = {
    "signed-up": async () =>
      expect(await page.getByRole("status").textContent()).toContain("log in with the password you chose"),
    ...(screenshots && { "signup-filled": () => shot("02-signup"), "login-filled": () => shot("03-login") }),
  };
  await signUpVerified(page, dev, { email, password: PASSWORD }, { fromSignUpPage: false, on });
}

const callApi = (key: string) => fetch(`${dev.url}/v1/hello`, { headers: { "X-API-Key": key } });

/** The usage flush runs after the response (at most ~200 ms later): reload until the page shows it. */
async function usageShows(text: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await page.goto(`${dev.url}/portal/usage`);
    if ((await page.locator("#usage-summary").textContent())?.includes(text)) return;
    if (Date.now() > deadline) throw new Error(`usage page never showed "${text}"`);
    await page.waitForTimeout(250);
  }
}

describe("developer portal in Chromium", () => {
  let firstKey = "";
  let firstKeyId = "";

  it("signs up, creates a key, calls the API with it and sees the call in usage", async () => {
    const email = uniqueEmail("first");
    await signUpAndLogIn(email, true);
    await page.getByText("No keys yet").waitFor();
    expect(await page.locator(".who").textContent()).toContain(email);

    // Keyboard users see where they are: the skip link appears on the first Tab.
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.getByRole("link", { name: "Skip to content" }).waitFor();
    await shot("04-keys-empty-focus");

    await page.getByLabel(/^Name/).fill("e2e laptop");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByRole("heading", { name: "Your new key" }).waitFor();
    firstKey = ((await page.locator("#new-key").textContent()) ?? "").trim();
    expect(firstKey).toMatch(/^gw_test_[0-9A-Za-z]{38}$/);
    expect((await page.locator("#curl-line").textContent())?.trim()).toBe(
      `curl '${dev.url}/v1/hello' \\\n  -H 'X-API-Key: ${firstKey}'`,
    );
    await shot("05-key-created");

    const response = await callApi(firstKey);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: "Hello, world!" });

    await usageShows("1 request from all your keys: 1 OK");
    expect(await page.locator("#quota-meter").getAttribute("value")).toBe("1");
    await page.getByText("1 of 10,000 requests used").waitFor();
    await shot("06-usage");

    await page.goto(`${dev.url}/portal/keys`);
    const row = page.getByRole("row", { name: /e2e laptop/ });
    expect(await row.textContent()).toContain(firstKey.slice(0, 12));
    // Columns after the name: start, created, last used: the call shows there.
    expect(await row.locator("td").nth(2).textContent()).toMatch(/UTC$/);
    firstKeyId = new URL(
      (await row.getByRole("link", { name: /^Rotate/ }).getAttribute("href")) ?? "",
      dev.url,
    ).pathname.split("/")[3] as string;
    expect(firstKeyId).toMatch(/^key_/);
    await shot("07-keys");
  });

  it("rotates the key (both work during the overlap), revokes the successor, which is then refused", async () => {
    await page.goto(`${dev.url}/portal/keys/${firstKeyId}/rotate`);
    await page.getByLabel("Old key keeps working for").selectOption("1");
    await shot("08-rotate");
    await page.getByRole("button", { name: "Rotate key" }).click();
    await page.getByRole("heading", { name: "Your rotated key" }).waitFor();
    await page.getByText("keeps working until").waitFor();
    const successor = ((await page.locator("#new-key").textContent()) ?? "").trim();
    expect(successor).not.toBe(firstKey);
    await shot("09-rotated");
    expect((await callApi(firstKey)).status).toBe(200);
    expect((await callApi(successor)).status).toBe(200);

    await page.goto(`${dev.url}/portal/keys`);
    expect(
      await page
        .getByRole("row", { name: /e2e laptop/ })
        .filter({ hasText: "rotating" })
        .count(),
    ).toBe(1);
    const active = page.getByRole("row", { name: /e2e laptop/ }).filter({ hasText: successor.slice(0, 12) });
    await active.getByRole("link", { name: /^Revoke/ }).click();
    await page.getByRole("heading", { name: /Revoke key/ }).waitFor();
    await shot("10-revoke-confirm");
    await page.getByRole("button", { name: "Revoke key" }).click();
    await page.waitForURL("**/portal/keys?notice=revoked");
    expect(await page.getByRole("status").textContent()).toContain("Key revoked");
    await shot("11-keys-after-revoke");

    const refused = await callApi(successor);
    expect(refused.status).toBe(403);
    expect(refused.headers.get("Content-Type")).toBe("application/problem+json");
    expect((await callApi(firstKey)).status).toBe(200);
  });

  it("shows billing, and Upgrade leads to Stripe Checkout (the local stand-in)", async () => {
    await page.goto(`${dev.url}/portal/billing`);
    expect(await page.locator("#plan-title + p").textContent()).toContain("Free");
    await shot("12-billing");
    await page.goto(`${dev.url}/portal/docs`);
    await shot("13-docs");
    await page.goto(`${dev.url}/portal/billing`);
    await Promise.all([
      page.waitForURL(/\/c\/pay\/cs_test_/),
      page.getByRole("button", { name: /Upgrade to Basic/ }).click(),
    ]);
    expect(new URL(page.url()).origin).not.toBe(dev.url);
  });

  it("lets a second developer see none of the first's keys or usage, even by guessing ids", async () => {
    await page.goto(`${dev.url}/portal/keys`);
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(`${dev.url}/portal`);
    await signUpAndLogIn(uniqueEmail("second"), false);
    await page.getByText("No keys yet").waitFor();
    expect(await page.locator("body").textContent()).not.toContain("e2e laptop");
    await shot("14-second-keys");
    await page.goto(`${dev.url}/portal/usage`);
    expect(await page.locator("#usage-summary").textContent()).toContain("0 requests from all your keys");
    expect(await page.locator("#quota-meter").getAttribute("value")).toBe("0");
    await shot("15-second-usage");

    const guessed = await page.goto(`${dev.url}/portal/keys/${firstKeyId}/revoke`);
    expect(guessed?.status()).toBe(404);
    await shot("16-second-guessed-id");
    const guessedUsage = await page.goto(`${dev.url}/portal/usage?key=${firstKeyId}`);
    expect(guessedUsage?.status()).toBe(404);
    // The first developer's key is untouched.
    expect((await callApi(firstKey)).status).toBe(200);
  });

  it("fits a phone's screen", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${dev.url}/portal/keys`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot("17-mobile-keys");
    await page.goto(`${dev.url}/portal`);
    await shot("18-mobile-home");
  });
});
