import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/config";
import { runScheduledJobs } from "../../src/jobs/scheduled";
import { redisKeys } from "../../src/store/layout";
import {
  admin,
  createAccount,
  linkInMail,
  mailsTo,
  PORTAL_PASSWORD,
  portalApi,
  portalClient,
  portalCsrf,
  portalDeveloper,
  portalLogin,
  problemOf,
  redis,
  tokenFromLink,
  uniqueEmail,
  waitForMails,
} from "./support";

// Invitations from the admin API, the settings (email and password change) and the 80 % / 100 % usage alerts
// of the scheduled job, with the Resend stand-in.

async function accept(token: string, password = "an invited passphrase") {
  const client = portalClient();
  const csrf = await portalCsrf(client);
  const response = await client.fetch("/portal/api/invitation/accept", {
    method: "POST",
    headers: { "X-CSRF-Token": csrf },
    json: { token, password },
  });
  if (response.status === 200)
    client.csrf = ((await response.clone().json()) as { csrfToken: string }).csrfToken;
  return { client, response };
}

describe("portal accounts: invitations", () => {
  it("invites a new address: the account is created, the link sets the password, verifies and signs in", async () => {
    const email = uniqueEmail();
    const invited = await admin("/invitations", { method: "POST", json: { email, tier: "basic" } });
    expect(invited.status).toBe(201);
    const body = (await invited.json()) as {
      account: { id: string; tier: string };
      created: boolean;
      expiresAt: string;
    };
    expect(body).toMatchObject({ created: true, account: { tier: "basic" } });
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    const [mail] = await waitForMails(email);
    expect(mail?.subject).toMatch(/invited/);

    const { client, response } = await accept(tokenFromLink(await linkInMail(email, "/portal/invitation")));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ account: { id: body.account.id, emailVerified: true } });
    expect((await portalApi(client, "/keys", { method: "POST", json: { name: "invited" } })).status).toBe(
      201,
    );
    expect((await portalLogin(portalClient(), email, "an invited passphrase")).status).toBe(200);
    // Single use.
    const again = await accept(tokenFromLink(await linkInMail(email, "/portal/invitation")));
    expect(again.response.status).toBe(400);
  });

  it("invites an existing account without a password, and refuses one that has a password (409)", async () => {
    const account = await createAccount();
    const invited = await admin("/invitations", { method: "POST", json: { email: account.email } });
    expect(invited.status).toBe(201);
    expect(await invited.json()).toMatchObject({ created: false, account: { id: account.id } });
    const { response } = await accept(tokenFromLink(await linkInMail(account.email, "/portal/invitation")));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ account: { id: account.id, emailVerified: true } });

    const again = await admin("/invitations", { method: "POST", json: { email: account.email } });
    expect(again.status).toBe(409);
    expect((await problemOf(again)).type).toBe("/problems/conflict");
  });

  it("validates the request and needs the admin token", async () => {
    expect((await admin("/invitations", { method: "POST", json: { email: "not an email" } })).status).toBe(
      400,
    );
    const anonymous = await portalClient().fetch("/admin/v1/invitations", {
      method: "POST",
      json: { email: uniqueEmail() },
    });
    expect(anonymous.status).toBe(401);
  });
});

describe("portal accounts: settings", () => {
  it("changes the email: the current password is required, the new address confirms, the old gets a notice", async () => {
    const { client, email, accountId } = await portalDeveloper();
    const newEmail = uniqueEmail();
    const wrong = await portalApi(client, "/account/email", {
      method: "POST",
      json: { email: newEmail, password: "not my password" },
    });
    expect(wrong.status).toBe(400);
    const before = (await mailsTo(email)).length;
    const asked = await portalApi(client, "/account/email", {
      method: "POST",
      json: { email: newEmail, password: PORTAL_PASSWORD },
    });
    expect(asked.status).toBe(202);
    const notice = (await waitForMails(email, before + 1)).at(-1);
    expect(notice?.subject).toMatch(/being changed/);
    expect(notice?.text).toContain(newEmail);
    expect(notice?.text).not.toContain("token=");
    // Nothing changes until the new address confirms.
    expect(await (await portalApi(client, "/session")).json()).toMatchObject({ account: { email } });

    const token = tokenFromLink(await linkInMail(newEmail, "/portal/verify"));
    const confirmed = await portalApi(client, "/email/verify", { method: "POST", json: { token } });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.json()).toEqual({ email: newEmail, emailVerified: true, changed: true });
    expect(await (await portalApi(client, "/session")).json()).toMatchObject({
      account: { id: accountId, email: newEmail, emailVerified: true },
    });
    expect((await portalLogin(portalClient(), newEmail)).status).toBe(200);
    expect((await portalLogin(portalClient(), email)).status).toBe(401);
  });

  it("refuses to confirm an address another account took meanwhile (409)", async () => {
    const { client } = await portalDeveloper();
    const contested = uniqueEmail();
    await portalApi(client, "/account/email", {
      method: "POST",
      json: { email: contested, password: PORTAL_PASSWORD },
    });
    const token = tokenFromLink(await linkInMail(contested, "/portal/verify"));
    expect((await admin("/accounts", { method: "POST", json: { email: contested } })).status).toBe(201);
    const confirmed = await portalApi(client, "/email/verify", { method: "POST", json: { token } });
    expect(confirmed.status).toBe(409);
  });

  it("changes the password: the current one is required, the other sessions end, this one stays", async () => {
    const { client, email } = await portalDeveloper();
    const other = portalClient();
    expect((await portalLogin(other, email)).status).toBe(200);
    const wrong = await portalApi(client, "/account/password", {
      method: "POST",
      json: { currentPassword: "not my password", newPassword: "a fresh passphrase" },
    });
    expect(wrong.status).toBe(400);
    expect(await problemOf(wrong)).toMatchObject({ errors: [{ path: "currentPassword" }] });
    const changed = await portalApi(client, "/account/password", {
      method: "POST",
      json: { currentPassword: PORTAL_PASSWORD, newPassword: "a fresh passphrase" },
    });
    expect(changed.status).toBe(204);
    expect((await portalApi(client, "/session")).status).toBe(200);
    expect((await portalApi(other, "/session")).status).toBe(401);
    expect((await portalLogin(portalClient(), email, "a fresh passphrase")).status).toBe(200);
    expect((await waitForMails(email, 2)).at(-1)?.subject).toMatch(/password was changed/);
  });

  it("renders the settings page with the address's state", async () => {
    const { client } = await portalDeveloper({ verified: false });
    const page = await client.fetch("/portal/settings");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("not verified yet");
    expect(html).toContain("Send a new link");
  });
});

describe("portal accounts: usage alerts", () => {
  const month = () => new Date().toISOString().slice(0, 7);
  const run = async () => {
    const outcomes = await runScheduledJobs(env as Bindings, new Date());
    const alerts = outcomes.find((outcome) => outcome.job === "quota-alerts");
    expect(alerts?.ok).toBe(true);
  };
  const alertMails = async (email: string) =>
    (await mailsTo(email)).filter((mail) => mail.tags?.some((tag) => tag.value.startsWith("quota_")));

  it("mails once at 80 % and once at 100 % of the monthly quota, however often the job runs", async () => {
    const account = await createAccount("free"); // 10,000 requests a month
    const counter = redisKeys.quota(account.id, month());
    await redis.set(counter, 7_999);
    await run();
    expect(await alertMails(account.email)).toEqual([]);

    await redis.set(counter, 8_000);
    await Promise.all([run(), run()]);
    await run();
    const first = await alertMails(account.email);
    expect(first.map((mail) => mail.subject)).toEqual([expect.stringMatching(/used 80%/)]);
    expect(first[0]?.text).toContain("8,000 of its 10,000");

    await redis.set(counter, 10_000);
    await run();
    await run();
    const both = await alertMails(account.email);
    expect(both).toHaveLength(2);
    expect(both[1]?.subject).toMatch(/used all of this month/);
    expect(both[1]?.idempotency_key).toBe(`quota-alert/${account.id}/${month()}/100`);
  });

  it("sends one mail (100 %) when both thresholds are crossed between runs", async () => {
    const account = await createAccount("free");
    await redis.set(redisKeys.quota(account.id, month()), 10_000);
    await run();
    await run();
    const mails = await alertMails(account.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]?.subject).toMatch(/used all/);
  });
});
