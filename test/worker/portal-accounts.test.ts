import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/config";
import { accountTokens } from "../../src/db/schema/account-tokens";
import { sha256Hex } from "../../src/portal/auth/session-store";
import {
  admin,
  gatewayWith,
  linkInMail,
  mailsTo,
  PORTAL_PASSWORD,
  portalApi,
  portalClient,
  portalCsrf,
  portalDeveloper,
  portalLogin,
  portalSignUp,
  problemOf,
  tokenFromLink,
  uniqueEmail,
  waitForMails,
  withDatabase,
} from "./support";

// Portal accounts with the Resend stand-in: verification, resend limit, expired and reused links, the
// "already registered" notice, mail refused without a provider key. Reset is in portal-accounts-reset.test.ts;
// invitations, settings and usage alerts in portal-accounts-more.test.ts.

const verifyWith = async (client: ReturnType<typeof portalClient>, token: string) => {
  if (!client.csrf) await portalCsrf(client);
  return portalApi(client, "/email/verify", { method: "POST", json: { token } });
};

describe("portal accounts: email verification", () => {
  it("sign-up mails a verification link; keys and plans wait for it; the link works once", async () => {
    const { client, email, accountId } = await portalDeveloper({ verified: false });
    const [mail, ...others] = await waitForMails(email);
    expect(others).toEqual([]);
    expect(mail?.subject).toMatch(/^Confirm your email/);
    expect(mail?.tags).toEqual([{ name: "kind", value: "verify_email" }]);
    expect(mail?.html).toContain("/portal/verify?token=");

    const session = await (await portalApi(client, "/session")).json();
    expect(session).toMatchObject({ account: { id: accountId, emailVerified: false } });

    const refused = await portalApi(client, "/keys", { method: "POST", json: { name: "too early" } });
    expect(refused.status).toBe(403);
    expect(await problemOf(refused)).toMatchObject({ type: "/problems/email-unverified" });
    const checkout = await portalApi(client, "/billing/checkout", {
      method: "POST",
      json: { tier: "basic" },
    });
    expect(checkout.status).toBe(403);
    // The page form goes to the settings page, which says what to do.
    const page = await client.fetch("/portal/keys", {
      method: "POST",
      form: { _csrf: client.csrf ?? "", name: "too early" },
    });
    expect(page.status).toBe(303);
    expect(page.headers.get("Location")).toBe("/portal/settings?notice=verify-first");

    const link = await linkInMail(email, "/portal/verify");
    // The link's page asks for a click (mail scanners must not use the token up) and does not use it.
    const shown = await client.fetch(new URL(link).pathname + new URL(link).search);
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain("Confirm my email");

    const verified = await verifyWith(client, tokenFromLink(link));
    expect(verified.status).toBe(200);
    expect(await verified.json()).toEqual({ email, emailVerified: true, changed: false });
    expect(await (await portalApi(client, "/session")).json()).toMatchObject({
      account: { emailVerified: true },
    });
    const created = await portalApi(client, "/keys", { method: "POST", json: { name: "now" } });
    expect(created.status).toBe(201);

    const reused = await verifyWith(client, tokenFromLink(link));
    expect(reused.status).toBe(400);
    expect(await problemOf(reused)).toMatchObject({ type: "/problems/invalid-token", status: 400 });
  });

  it("stores only the token's SHA-256, never the token or the link", async () => {
    const { email, accountId } = await portalDeveloper({ verified: false });
    const token = tokenFromLink(await linkInMail(email, "/portal/verify"));
    const rows = await withDatabase((db) =>
      db.select().from(accountTokens).where(eq(accountTokens.accountId, accountId)),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.tokenHash).toBe(await sha256Hex(token));
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it("refuses an expired link (24 h) and a malformed one with the same problem", async () => {
    const { client, email, accountId } = await portalDeveloper({ verified: false });
    const token = tokenFromLink(await linkInMail(email, "/portal/verify"));
    await withDatabase((db) =>
      db
        .update(accountTokens)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(accountTokens.accountId, accountId)),
    );
    const expired = await verifyWith(client, token);
    expect(expired.status).toBe(400);
    const expiredBody = await problemOf(expired);
    const malformed = await verifyWith(client, "not-a-token");
    expect(malformed.status).toBe(400);
    const malformedBody = await problemOf(malformed);
    expect(expiredBody.detail).toBe(malformedBody.detail);
    expect(expiredBody.type).toBe("/problems/invalid-token");
    // The page of an expired link says so, with a way to get a new one.
    const page = await client.fetch(`/portal/verify?token=${token}`);
    expect(page.status).toBe(400);
    expect(await page.text()).toContain("Send a new link");
  });

  it("lets a developer resend the link 3 times an hour; each resend replaces the previous link", async () => {
    const { client, email } = await portalDeveloper({ verified: false });
    const first = tokenFromLink(await linkInMail(email, "/portal/verify"));
    for (let i = 0; i < 3; i++) {
      const resent = await portalApi(client, "/email/verification", { method: "POST" });
      expect(resent.status).toBe(202);
    }
    const limited = await portalApi(client, "/email/verification", { method: "POST" });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect((await problemOf(limited)).type).toBe("/problems/rate-limited");
    expect(await mailsTo(email)).toHaveLength(4);

    expect((await verifyWith(client, first)).status).toBe(400);
    const latest = tokenFromLink(await linkInMail(email, "/portal/verify", 4));
    expect((await verifyWith(client, latest)).status).toBe(200);
    const again = await portalApi(client, "/email/verification", { method: "POST" });
    expect(again.status).toBe(409);
  });

  it("answers a sign-up with a taken address the same, and mails its owner a notice instead of a link", async () => {
    const { email } = await portalDeveloper();
    const before = (await mailsTo(email)).length;
    const stranger = portalClient();
    const fresh = portalClient();
    const taken = await portalSignUp(stranger, email, "another long passphrase");
    const free = await portalSignUp(fresh, uniqueEmail());
    expect(taken.status).toBe(free.status);
    expect(await taken.json()).toEqual(await free.json());
    const mails = await waitForMails(email, before + 1);
    const notice = mails.at(-1);
    expect(notice?.subject).toMatch(/tried to sign up/);
    expect(notice?.text).not.toContain("token=");
    // The stranger's password does not open the account.
    expect((await portalLogin(stranger, email, "another long passphrase")).status).toBe(401);
    expect((await portalLogin(stranger, email, PORTAL_PASSWORD)).status).toBe(200);
  });

  it("refuses sign-up with a clear 503 when mail cannot be sent, and makes no account", async () => {
    const client = portalClient();
    const csrf = await portalCsrf(client);
    const email = uniqueEmail();
    const response = await gatewayWith({ RESEND_API_KEY: "" } as Partial<Bindings>, "/portal/api/signup", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-CSRF-Token": csrf,
        Origin: "http://gateway.test",
        "CF-Connecting-IP": client.ip,
        Cookie: `__Host-gw_presession=${client.cookie("__Host-gw_presession")}`,
      },
      body: JSON.stringify({ email, password: PORTAL_PASSWORD }),
    });
    expect(response.status).toBe(503);
    expect(await problemOf(response)).toMatchObject({ type: "/problems/mail-not-configured" });
    expect((await portalLogin(client, email)).status).toBe(401);
  });

  it("documents the new routes in the portal's OpenAPI document", async () => {
    const document = (await (await portalClient().fetch("/portal/api/openapi.json")).json()) as {
      paths: Record<string, unknown>;
    };
    for (const path of [
      "/email/verify",
      "/email/verification",
      "/password/forgot",
      "/password/reset",
      "/invitation/accept",
      "/account/email",
      "/account/password",
    ]) {
      expect(document.paths).toHaveProperty([path]);
    }
    const adminDocument = (await (await admin("/openapi.json")).json()) as { paths: Record<string, unknown> };
    expect(adminDocument.paths).toHaveProperty(["/invitations"]);
    expect(env.RESEND_API_BASE).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
