import { mkdirSync } from "node:fs";
import type { Page } from "playwright-core";
import { type Browser, launchBrowser } from "./browser.ts";
import { type DevServer, startDevServer } from "./dev-server.ts";

/** What an e2e file drives: `npm run dev`, a headless Chromium, and one page in it. */
export interface E2eSession {
  dev: DevServer;
  browser: Browser;
  page: Page;
}

/**
 * Starts `npm run dev` (with `devVars` on top of its defaults) and Chromium side by side, opens a page whose
 * actions wait at most `timeoutMs`, and makes the screenshot folder `shots`.
 */
export async function openE2e(
  shots: string,
  timeoutMs: number,
  devVars?: Record<string, string>,
): Promise<E2eSession> {
  mkdirSync(shots, { recursive: true });
  const [dev, browser] = await Promise.all([startDevServer(devVars), launchBrowser()]);
  const page = await browser.context.newPage();
  page.setDefaultTimeout(timeoutMs);
  return { dev, browser, page };
}

/** Closes what openE2e started; safe when it failed half way (either may be undefined). */
export async function closeE2e(session: Partial<E2eSession>): Promise<void> {
  await session.browser?.close();
  await session.dev?.stop();
}
