import { describe, expect, it } from "vitest";
import { plans, tierIds } from "../../src/plans/plans";
import { gateway, portalApi, portalClient, portalDeveloper, portalForm } from "./support";

describe("portal pages", () => {
  it("serves the home page: what the API is, the plans from plans.ts, links to docs, sign up and log in", async () => {
    const response = await gateway("/portal");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html.startsWith("<!doctype html>")).toBe(true);
    for (const tier of tierIds) {
      expect(html).toContain(`<h3>${plans[tier].name}</h3>`);
      expect(html).toContain(plans[tier].display.price);
      for (const feature of plans[tier].display.features) expect(html).toContain(feature);
    }
    for (const href of ["/docs", "/portal/signup", "/portal/login"]) expect(html).toContain(`href="${href}"`);
    // Landmarks and a skip link.
    for (const landmark of ['<header class="site">', "<nav", '<main id="main"', '<footer class="site">']) {
      expect(html).toContain(landmark);
    }
    expect(html).toContain('href="#main"');
  });

  it("sends a strict CSP with a per-response nonce, security headers and no-store", async () => {
    const first = await gateway("/portal/login");
    const second = await gateway("/portal/login");
    const csp = first.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("base-uri 'none'");
    const nonce = /style-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    expect(csp).toContain(`script-src 'nonce-${nonce}'`);
    expect(second.headers.get("Content-Security-Policy")).not.toContain(nonce);
    const html = await first.text();
    expect(html).toContain(`<style nonce="${nonce}">`);
    // No inline style attributes anywhere (the CSP would block them).
    expect(html).not.toMatch(/\sstyle="/);
    expect(first.headers.get("X-Frame-Options")).toBe("SAMEORIGIN");
    expect(first.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(first.headers.get("Cache-Control")).toBe("no-store");
    // The visitor's presession cookie, which the login form's token is bound to.
    expect(first.headers.getSetCookie().join("\n")).toMatch(
      /__Host-gw_presession=[A-Za-z0-9_-]{43}; Max-Age=86400; Path=\/; HttpOnly; Secure; SameSite=Lax/,
    );
  });

  it("signs up, logs in and out through the forms", async () => {
    const client = portalClient();
    const email = `page-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
    const form = await (await client.fetch("/portal/signup")).text();
    expect(form).toMatch(/<label for="email">/);
    expect(form).toContain('autocomplete="new-password"');
    const token = /name="_csrf" value="([^"]+)"/.exec(form)?.[1] ?? "";
    const signedUp = await client.fetch("/portal/signup", {
      method: "POST",
      form: { _csrf: token, email, password: "a long enough password" },
    });
    expect(signedUp.status).toBe(303);
    expect(signedUp.headers.get("Location")).toBe("/portal/login?signed_up=1");
    const login = await client.fetch("/portal/login", {
      method: "POST",
      form: { _csrf: token, email, password: "a long enough password" },
    });
    expect(login.status).toBe(303);
    expect(login.headers.get("Location")).toBe("/portal/keys");
    const keys = await (await client.fetch("/portal/keys")).text();
    expect(keys).toContain(email);
    const sessionToken = /name="_csrf" value="([^"]+)"/.exec(keys)?.[1] ?? "";
    // Signed in, the token is bound to the session, no longer to the presession.
    expect(sessionToken).not.toBe(token);
    const logout = await client.fetch("/portal/logout", { method: "POST", form: { _csrf: sessionToken } });
    expect(logout.status).toBe(303);
    expect((await client.fetch("/portal/keys")).status).toBe(303);
  });

  it("re-renders the sign-up form with field errors, keeping the email but never the password", async () => {
    const client = portalClient();
    const token =
      /name="_csrf" value="([^"]+)"/.exec(await (await client.fetch("/portal/signup")).text())?.[1] ?? "";
    const response = await client.fetch("/portal/signup", {
      method: "POST",
      form: { _csrf: token, email: "someone@example.com", password: "short-pw" },
    });
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toContain('aria-invalid="true"');
    expect(html).toContain('id="password-error"');
    expect(html).toContain('value="someone@example.com"');
    expect(html).not.toContain("short-pw");
  });

  it("renders errors as pages: a guessed key id is a 404 page", async () => {
    const { client } = await portalDeveloper();
    const response = await client.fetch("/portal/keys/key_doesnotexist00000000/revoke");
    expect(response.status).toBe(404);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(await response.text()).toContain("Error 404");
  });
});

describe("portal docs", () => {
  it("opens the API reference with the developer's own key in Try it, never cached", async () => {
    const { client } = await portalDeveloper();
    const created = (await (
      await portalApi(client, "/keys", { method: "POST", json: { name: "docs" } })
    ).json()) as {
      key: string;
    };
    const response = await portalForm(client, "/portal/docs", { key: created.key });
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const csp = response.headers.get("Content-Security-Policy") ?? "";
    // Scripts from this origin only, none inline; nothing on the page can reach another origin.
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:\/\/|unsafe-inline'[^;]*;\s*script|\*/);
    expect(response.headers.get("Referrer-Policy")).toBe("no-referrer");
    const html = await response.text();
    const config = JSON.parse(
      /<script id="reference-config" type="application\/json">([^<]*)<\/script>/.exec(html)?.[1] ?? "null",
    );
    expect(config).toMatchObject({
      url: "/openapi.json",
      withDefaultFonts: false,
      authentication: {
        preferredSecurityScheme: "apiKey",
        securitySchemes: { apiKey: { value: created.key } },
      },
    });
    // Every script is a data block or a file of this origin.
    for (const tag of html.match(/<script[^>]*>/g) ?? []) {
      expect(tag).toMatch(/type="application\/json"|src="\/docs\/assets\//);
    }

    // The edge-cached reference never carries a key.
    expect(await (await gateway("/docs")).text()).not.toContain(created.key);
  });

  it("refuses another developer's key or a made-up one", async () => {
    const first = await portalDeveloper();
    const second = await portalDeveloper();
    const created = (await (
      await portalApi(first.client, "/keys", { method: "POST", json: { name: "mine" } })
    ).json()) as {
      key: string;
    };
    for (const key of [created.key, "gw_test_notakey", "</script><script>alert(1)</script>"]) {
      const response = await portalForm(second.client, "/portal/docs", { key });
      expect(response.status).toBe(400);
      const html = await response.text();
      expect(html).toContain("That is not an active key of your account.");
      expect(html).not.toContain(created.key);
      expect(html).not.toContain("<script>alert");
    }
  });
});

describe("portal JSON API document", () => {
  it("documents every route with the cookie session and the CSRF header as security schemes", async () => {
    const response = await gateway("/portal/api/openapi.json");
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
      components: { securitySchemes: Record<string, Record<string, string>> };
    };
    expect(document.components.securitySchemes.portalSession).toEqual(
      expect.objectContaining({ type: "apiKey", in: "cookie", name: "__Host-gw_session" }),
    );
    expect(document.components.securitySchemes.csrfToken).toEqual(
      expect.objectContaining({ type: "apiKey", in: "header", name: "X-CSRF-Token" }),
    );
    expect(Object.keys(document.paths).sort()).toEqual(
      [
        "/billing",
        "/billing/checkout",
        "/billing/plan-change",
        "/billing/plan-change/preview",
        "/billing/portal",
        "/csrf",
        "/keys",
        "/keys/{id}",
        "/keys/{id}/rotate",
        "/login",
        "/logout",
        "/session",
        "/signup",
        "/usage",
        // Portal accounts (portal-accounts*.test.ts).
        "/account/email",
        "/account/password",
        "/email/verification",
        "/email/verify",
        "/invitation/accept",
        "/password/forgot",
        "/password/reset",
      ].sort(),
    );
    expect(document.paths["/keys"]?.post?.security).toEqual([{ portalSession: [], csrfToken: [] }]);
    for (const method of ["post", "delete"]) {
      expect(document.paths["/billing/plan-change"]?.[method]?.security).toEqual([
        { portalSession: [], csrfToken: [] },
      ]);
    }
  });
});
