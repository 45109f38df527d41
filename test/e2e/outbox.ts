import type { Page } from "playwright-core";
import type { DevServer } from "./dev-server.ts";

/** The mail stand-in's outbox page, as `npm run dev` prints it in its ready line. */
export function outboxUrl(dev: DevServer): string {
  const ready = dev.output.find((line) => line.startsWith("[dev] ready"));
  const url = /mail outbox (http:\/\/\S+)/.exec(ready ?? "")?.[1];
  if (!url) throw new Error(`no outbox URL in the ready line: ${ready}`);
  return url;
}

/**
 * Opens the outbox and the newest message to `to` whose subject matches, as a developer would, and leaves the
 * page on that message. Mails sent after a response (password resets) may take a moment: reloads until seen.
 */
export async function openMail(page: Page, dev: DevServer, to: string, subject: RegExp): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await page.goto(outboxUrl(dev));
    const row = page.locator("tbody tr").filter({ hasText: to }).filter({ hasText: subject }).first();
    if ((await row.count()) > 0) {
      await row.getByRole("link").click();
      await page.waitForURL("**/outbox/*");
      return;
    }
    if (Date.now() > deadline) throw new Error(`no mail to ${to} matching ${subject} in the outbox`);
    await page.waitForTimeout(250);
  }
}

/** Confirms the address of the signed-in developer from the outbox (sign-up's verification mail). */
export async function verifyFromOutbox(page: Page, dev: DevServer, email: string): Promise<void> {
  await openMail(page, dev, email, /Confirm your email/);
  await page.getByRole("link", { name: "Confirm my email" }).click();
  await page.waitForURL("**/portal/verify?token=*");
  await page.getByRole("button", { name: "Confirm my email" }).click();
  await page.waitForURL(/\/portal\/(settings|login)\?notice=verified$/);
}
