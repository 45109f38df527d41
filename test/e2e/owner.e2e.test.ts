import { execFile } from "node:child_process";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { serve } from "@hono/node-server";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "./browser.ts";
import type { DevServer } from "./dev-server.ts";
import { closeE2e, openE2e } from "./session.ts";
import { signUpVerified } from "./sign-up.ts";

// The API owner's path: `npm run dev` with ORIGIN_URL pointing at an API of the test's own (not the demo),
// with its own OpenAPI document. A key reaches it; /docs and /openapi.json show its operations; the portal's
// code sample names one of its paths and works when run. Then every portal page on a 390 px phone, each
// without horizontal scroll, with screenshots in test-results/phone/.

const SHOTS = join(import.meta.dirname, "..", "..", "test-results", "phone");
const PASSWORD = "a passphrase for the owner e2e test";
const run = promisify(execFile);

/** A small "inventory" API, unlike the demo origin: its first GET is /v1/widgets, it has no /v1/hello. */
function startOwnOrigin() {
  const seen: Array<{ path: string; keyHeader: string | undefined }> = [];
  const app = new OpenAPIHono();
  const Widget = z.object({ id: z.string(), name: z.string() }).openapi("Widget");
  const widgets = [
    { id: "w1", name: "Sprocket" },
    { id: "w2", name: "Flange" },
  ];
  app.use("*", async (c, next) => {
    seen.push({
      path: new URL(c.req.url).pathname,
      keyHeader: c.req.header("X-API-Key"),
    });
    await next();
  });
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/widgets",
      operationId: "listWidgets",
      summary: "List widgets",
      responses: {
        200: {
          description: "Widgets",
          content: { "application/json": { schema: z.object({ widgets: z.array(Widget) }) } },
        },
      },
    }),
    (c) => c.json({ widgets }, 200),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/widgets/{id}",
      operationId: "getWidget",
      summary: "Get a widget",
      request: { params: z.object({ id: z.string() }) },
      responses: { 200: { description: "A widget", content: { "application/json": { schema: Widget } } } },
    }),
    (c) => c.json(widgets.find((widget) => widget.id === c.req.valid("param").id) ?? widgets[0], 200),
  );
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Widget Inventory API", version: "2.0.0", description: "Widgets, counted." },
  });
  return new Promise<{ url: string; seen: typeof seen; close(): Promise<void> }>((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) =>
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        seen,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    );
  });
}

let origin: Awaited<ReturnType<typeof startOwnOrigin>>;
let dev: DevServer;
let browser: Browser;
let page: Page;
const cspViolations: string[] = [];

beforeAll(async () => {
  origin = await startOwnOrigin();
  ({ dev, browser, page } = await openE2e(SHOTS, 30_000, { ORIGIN_URL: origin.url }));
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
  });
});

afterAll(async () => {
  await closeE2e({ dev, browser });
  await origin?.close();
});

/** Screenshot at the current size, and the page must not scroll sideways. */
async function phoneShot(name: string) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${name} scrolls sideways by ${overflow}px`).toBeLessThanOrEqual(0);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

describe("an owner's own API behind `npm run dev`", () => {
  let key = "";

  it("says in its ready line that it proxies to ORIGIN_URL, and started no demo origin", () => {
    const ready = dev.output.find((line) => line.startsWith("[dev] ready")) ?? "";
    expect(ready).toContain(`origin (ORIGIN_URL from the environment) ${origin.url}`);
    expect(ready).not.toContain("demo origin");
  });

  it("documents the owner's operations in /openapi.json and renders them at /docs, offline", async () => {
    const document = (await (await fetch(`${dev.url}/openapi.json`)).json()) as {
      info: { title: string; description: string };
      paths: Record<string, unknown>;
    };
    expect(document.info.title).toBe("Widget Inventory API");
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(["/v1/widgets", "/v1/widgets/{id}"]));
    expect(document.paths).not.toHaveProperty("/v1/hello");
    expect(document.info.description).toContain(`curl '${dev.url}/v1/widgets'`);

    await page.setViewportSize({ width: 1280, height: 800 });
    // Scalar's bundle is 4 MB, uncompressed under `wrangler dev` on a busy machine: give it time.
    await page.goto(`${dev.url}/docs`, { waitUntil: "domcontentloaded", timeout: 90_000 });
    // Scalar (served by the worker itself) renders the owner's document and its quick start.
    await page.getByRole("heading", { name: "Widget Inventory API" }).waitFor({ timeout: 60_000 });
    await page.getByText(`${dev.url}/v1/widgets`).first().waitFor();
    await page.screenshot({ path: join(SHOTS, "00-docs-desktop.png") });
    expect(cspViolations).toEqual([]);
  });

  it("gives a new key a code sample that calls one of the owner's paths, and it works when run", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${dev.url}/portal`);
    await phoneShot("01-home");
    await page.goto(`${dev.url}/portal/signup`);
    await phoneShot("02-signup");
    await page.getByRole("button", { name: "Create account" }).click();
    // Empty form: plain words next to the field, and the focus on the first one.
    await page.getByText("Enter your email address").waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("email");
    await phoneShot("03-signup-errors");
    const email = `owner-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
    const on = { "signed-up": () => phoneShot("04-login") };
    await signUpVerified(page, dev, { email, password: PASSWORD }, { fromSignUpPage: false, on });
    await phoneShot("05-keys-empty");

    await page.getByLabel(/^Name/).fill("phone with a rather long key name to wrap");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByRole("heading", { name: "Your new key" }).waitFor();
    key = ((await page.locator("#new-key").textContent()) ?? "").trim();
    expect(key).toMatch(/^gw_test_[0-9A-Za-z]{38}$/);
    await phoneShot("06-key-created");

    const curl = ((await page.locator("#curl-line").textContent()) ?? "").trim();
    expect(curl).toContain(`${dev.url}/v1/widgets`);
    expect(curl).toContain(key);
    const before = origin.seen.length;
    const { stdout } = await run("sh", ["-c", `${curl} --silent --show-error --fail`]);
    expect(JSON.parse(stdout)).toEqual({
      widgets: [expect.objectContaining({ name: "Sprocket" }), expect.anything()],
    });
    const reached = origin.seen.slice(before).find((request) => request.path === "/v1/widgets");
    expect(reached).toBeDefined();
    // The gateway strips the key before the origin sees the request.
    expect(reached?.keyHeader).toBeUndefined();

    const javascript = ((await page.locator("#js-sample").textContent()) ?? "").trim();
    const node = await run(process.execPath, ["--input-type=module", "-e", javascript]);
    expect(node.stdout).toContain("200");
    expect(node.stdout).toContain("Sprocket");
  });

  it("shows every other portal page on a phone without sideways scrolling", async () => {
    await page.goto(`${dev.url}/portal/keys`);
    const row = page.getByRole("row", { name: /phone with a rather long key name/ });
    // Rotate and Revoke are on screen, not beyond its right edge.
    for (const name of [/^Rotate/, /^Revoke/]) {
      const box = await row.getByRole("link", { name }).boundingBox();
      expect(box && box.x + box.width).toBeLessThanOrEqual(390);
    }
    await phoneShot("07-keys");
    const keyId = new URL(
      (await row.getByRole("link", { name: /^Rotate/ }).getAttribute("href")) ?? "",
      dev.url,
    ).pathname.split("/")[3];
    await page.goto(`${dev.url}/portal/keys/${keyId}/rotate`);
    await phoneShot("08-rotate-confirm");
    await page.goto(`${dev.url}/portal/keys/${keyId}/revoke`);
    await phoneShot("09-revoke-confirm");
    await page.goto(`${dev.url}/portal/usage`);
    // The per-key "View" link is on screen too (the table turns into cards).
    const view = await page.getByRole("link", { name: /^View/ }).first().boundingBox();
    expect(view && view.x + view.width).toBeLessThanOrEqual(390);
    await phoneShot("10-usage");
    await page.goto(`${dev.url}/portal/billing`);
    await phoneShot("11-billing");
    await page.goto(`${dev.url}/portal/docs`);
    await phoneShot("12-docs-key-form");
    const missing = await page.goto(`${dev.url}/portal/no-such-page`);
    expect(missing?.status()).toBe(404);
    await phoneShot("13-not-found");

    // The reference with the key filled in: it too fits, and nothing on it breaks the page's CSP.
    await page.goto(`${dev.url}/portal/docs`);
    await page.getByLabel(/^API key/).fill(key);
    await Promise.all([
      page.waitForURL("**/portal/docs", { waitUntil: "domcontentloaded", timeout: 90_000 }),
      page.getByRole("button", { name: "Open the reference with this key" }).click(),
    ]);
    await page.getByRole("heading", { name: "Widget Inventory API" }).waitFor({ timeout: 60_000 });
    await page.screenshot({ path: join(SHOTS, "14-reference-with-key.png") });
    expect(cspViolations).toEqual([]);
  });
});
