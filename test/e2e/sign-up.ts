import type { Page } from "playwright-core";
import type { DevServer } from "./dev-server.ts";
import { verifyFromOutbox } from "./outbox.ts";

/** Moments of sign-up a test may want a screenshot (or a check) of, on the page as it then is. */
export type SignUpStep = "signup-filled" | "signed-up" | "login-filled";

/**
 * Signs a new developer up on the page the browser is on (or /portal/signup when `fromSignUpPage`), logs in,
 * confirms the address from the local mail outbox as a developer would, and ends on /portal/keys. `on` holds
 * what to do at a step (screenshots, assertions of that moment).
 */
export async function signUpVerified(
  page: Page,
  dev: DevServer,
  account: { email: string; password: string },
  options: { fromSignUpPage?: boolean; on?: Partial<Record<SignUpStep, () => Promise<unknown>>> } = {},
): Promise<void> {
  const at = async (step: SignUpStep) => {
    await options.on?.[step]?.();
  };
  if (options.fromSignUpPage ?? true) await page.goto(`${dev.url}/portal/signup`);
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await at("signup-filled");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL("**/portal/login?signed_up=1");
  await at("signed-up");
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await at("login-filled");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL("**/portal/keys");
  // Keys and plans wait for a confirmed address: open the link from the local mail outbox.
  await verifyFromOutbox(page, dev, account.email);
  await page.goto(`${dev.url}/portal/keys`);
}
