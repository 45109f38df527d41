import { describe, expect, it } from "vitest";
import {
  admin,
  linkInMail,
  mailsTo,
  PORTAL_PASSWORD,
  portalApi,
  portalClient,
  portalCsrf,
  portalDeveloper,
  portalLogin,
  portalResetPassword,
  problemOf,
  tokenFromLink,
  uniqueEmail,
  waitForMails,
} from "./support";

// Password reset with the Resend stand-in: the same answer (status, body, time) for known and unknown
// addresses, single-use 30-minute links, and every session of the account ended by a reset.

const NEW_PASSWORD = "a brand new passphrase";

async function forgot(email: string, client = portalClient()) {
  const csrf = await portalCsrf(client);
  const started = performance.now();
  const response = await client.fetch("/portal/api/password/forgot", {
    method: "POST",
    headers: { "X-CSRF-Token": csrf },
    json: { email },
  });
  return { response, ms: performance.now() - started, body: await response.text() };
}

const reset = (token: string, password = NEW_PASSWORD) => portalResetPassword(token, password);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

describe("portal accounts: password reset", () => {
  it("answers known and unknown addresses with the same status, body and time (30 tries each)", async () => {
    // Known addresses: admin-made accounts (cheap to make); each try its own address and client IP, so the
    // per-address and per-IP limits never interfere. Tries alternate, so load on the machine hits both alike.
    const known: string[] = [];
    for (let i = 0; i < 30; i++) {
      const email = uniqueEmail();
      const made = await admin("/accounts", { method: "POST", json: { email } });
      expect(made.status).toBe(201);
      known.push(email);
    }
    const unknown = Array.from({ length: 30 }, () => uniqueEmail());
    const times = { known: [] as number[], unknown: [] as number[] };
    const bodies = new Set<string>();
    for (let i = 0; i < 30; i++) {
      for (const [kind, email] of [
        ["known", known[i]],
        ["unknown", unknown[i]],
      ] as const) {
        const { response, ms, body } = await forgot(email as string);
        expect(response.status).toBe(202);
        bodies.add(body);
        times[kind].push(ms);
      }
    }
    expect(bodies.size).toBe(1);
    const [knownMedian, unknownMedian] = [median(times.known), median(times.unknown)];
    // Both answers do the same work before responding (the lookup and the mail happen after it), so any
    // difference is noise: bounded generously so a busy machine cannot fail it, tightly enough that a
    // database lookup plus a mail send (tens of ms) on one side only would.
    console.log(
      `reset timing: known median ${knownMedian.toFixed(1)} ms, unknown ${unknownMedian.toFixed(1)} ms`,
    );
    expect(Math.abs(knownMedian - unknownMedian)).toBeLessThan(
      Math.max(15, 0.25 * Math.min(knownMedian, unknownMedian)),
    );

    // Mail went to every known address and to no unknown one.
    for (const email of known) await waitForMails(email, 1);
    for (const email of unknown) expect(await mailsTo(email)).toEqual([]);
  }, 180_000);

  it("limits requests per address from one client (3 an hour), known or not, with Retry-After", async () => {
    const email = uniqueEmail();
    const client = portalClient();
    for (let i = 0; i < 3; i++) expect((await forgot(email, client)).response.status).toBe(202);
    const limited = await forgot(email, client);
    expect(limited.response.status).toBe(429);
    expect(Number(limited.response.headers.get("Retry-After"))).toBeGreaterThan(0);
  });

  it("sets a new password once from the link, ends every session of the account, and the link works once", async () => {
    const { client: first, email } = await portalDeveloper();
    const second = portalClient();
    expect((await portalLogin(second, email)).status).toBe(200);
    expect((await portalApi(first, "/session")).status).toBe(200);

    const before = (await mailsTo(email)).length;
    expect((await forgot(email)).response.status).toBe(202);
    const link = await linkInMail(email, "/portal/reset", before + 1);
    const mails = await mailsTo(email);
    expect(mails.at(-1)?.subject).toMatch(/Reset your/);
    expect(mails.at(-1)?.text).toContain("30 minutes");

    const weak = await reset(tokenFromLink(link), "short");
    expect(weak.status).toBe(400);
    const done = await reset(tokenFromLink(link));
    expect(done.status).toBe(204);

    // Both sessions are over.
    expect((await portalApi(first, "/session")).status).toBe(401);
    expect((await portalApi(second, "/session")).status).toBe(401);
    // The old password no longer works, the new one does.
    expect((await portalLogin(portalClient(), email, PORTAL_PASSWORD)).status).toBe(401);
    expect((await portalLogin(portalClient(), email, NEW_PASSWORD)).status).toBe(200);
    // The link was single-use.
    const again = await reset(tokenFromLink(link), "yet another passphrase");
    expect(again.status).toBe(400);
    expect((await problemOf(again)).type).toBe("/problems/invalid-token");
  });

  it("a newer reset link replaces the older one", async () => {
    const { email } = await portalDeveloper();
    const before = (await mailsTo(email)).length;
    await forgot(email);
    const older = tokenFromLink(await linkInMail(email, "/portal/reset", before + 1));
    await forgot(email);
    const newer = tokenFromLink(await linkInMail(email, "/portal/reset", before + 2));
    expect(newer).not.toBe(older);
    expect((await reset(older)).status).toBe(400);
    expect((await reset(newer)).status).toBe(204);
  });

  it("the reset page shows the form for a live link and says so for a dead one", async () => {
    const { email } = await portalDeveloper();
    const before = (await mailsTo(email)).length;
    await forgot(email);
    const link = new URL(await linkInMail(email, "/portal/reset", before + 1));
    const client = portalClient();
    const page = await client.fetch(link.pathname + link.search);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Choose a new password");
    await portalCsrf(client);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
    const submitted = await client.fetch("/portal/reset", {
      method: "POST",
      form: { _csrf: csrf, token: link.searchParams.get("token") ?? "", password: NEW_PASSWORD },
    });
    expect(submitted.status).toBe(303);
    expect(submitted.headers.get("Location")).toBe("/portal/login?notice=password-reset");
    const dead = await client.fetch(link.pathname + link.search);
    expect(dead.status).toBe(400);
    expect(await dead.text()).toContain("Ask for a new link");
  });
});
