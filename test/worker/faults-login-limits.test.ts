import { afterEach, describe, expect, it, vi } from "vitest";
import { TOKEN_LIFETIMES_MS } from "../../src/portal/auth/account-tokens";
import { loginSlowdownMs } from "../../src/portal/auth/login-limit";
import { MAIL_LIMITS, RESET_MAIL_SPACING_MS } from "../../src/portal/auth/mail-limit";
import {
  BASE,
  gatewayWith,
  linkInMail,
  mailsTo,
  PORTAL_PASSWORD,
  type PortalClient,
  portalClient,
  portalCsrf,
  portalDeveloper,
  portalLogin,
  portalResetPassword,
  portalSignUp,
  problemOf,
  tokenFromLink,
  uniqueClientAddress,
  uniqueEmail,
} from "./support";

/**
 * Issue 18, items 4 and 5: the portal's limits keyed by client address count a client, not a spelling or one
 * address of its /64; and no limit lets a third party lock a developer out (login, password reset).
 */

const hex16 = () => (crypto.getRandomValues(new Uint16Array(1))[0] ?? 0).toString(16);

/** Defaults of PORTAL_LOGIN_ATTEMPTS_PER_IP, PORTAL_LOGIN_ATTEMPTS_PER_EMAIL, PORTAL_LOGIN_SLOWDOWN_MAX_MS. */
const PER_ADDRESS = 50;
const PER_EMAIL = 10;
const SLOWDOWN_MAX_MS = 2000;

/** The delays the worker reported ("portal login slowed down") while `run` ran, in order. */
async function reportedDelays<T>(run: () => Promise<T>): Promise<{ result: T; delays: number[] }> {
  const delays: number[] = [];
  const original = console.warn;
  vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => {
    const line = args.map(String).join(" ");
    if (line.includes("portal login slowed down"))
      delays.push((JSON.parse(line) as { delayMs: number }).delayMs);
    else original(...args);
  });
  try {
    return { result: await run(), delays };
  } finally {
    vi.restoreAllMocks();
  }
}

async function timedLogin(client: PortalClient, email: string, password = PORTAL_PASSWORD) {
  const started = performance.now();
  const response = await portalLogin(client, email, password);
  return { response, ms: performance.now() - started };
}

/** A problem body without what differs per request (its request id). */
async function comparable(response: Response) {
  const { requestId: _requestId, ...rest } = await problemOf(response);
  return rest;
}

afterEach(() => vi.restoreAllMocks());

describe("per-client login limits count a client, not a spelling (issue 18.4)", () => {
  it("limits 60 failed logins from 60 addresses of one IPv6 /64", async () => {
    const prefix = `2001:db8:${hex16()}:${hex16()}`;
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 60; i++) {
      const client = portalClient({
        ip: `${prefix}:${hex16()}:${hex16()}:${hex16()}:${(i + 1).toString(16)}`,
      });
      const response = await portalLogin(client, uniqueEmail(), "some wrong password");
      statuses.push(response.status);
      if (response.status === 429) refused ??= response;
    }
    expect(statuses.slice(0, PER_ADDRESS)).toEqual(Array(PER_ADDRESS).fill(401));
    expect(statuses.slice(PER_ADDRESS)).toEqual(Array(60 - PER_ADDRESS).fill(429));
    expect(Number(refused?.headers.get("Retry-After"))).toBeGreaterThan(0);
    // Another /64 is another client.
    expect((await portalLogin(portalClient(), uniqueEmail(), "some wrong password")).status).toBe(401);
  }, 120_000);

  it("counts every spelling of one address (IPv4, IPv4-mapped IPv6, upper case, zeros) as one client", async () => {
    const [a = 0, b = 0] = crypto.getRandomValues(new Uint8Array(2));
    const v4 = `198.18.${a}.${b}`;
    const mappedHex = `${(0xc612).toString(16).toUpperCase()}:${((a << 8) | b).toString(16).toUpperCase()}`;
    const spellings = [v4, `::ffff:${v4}`, `::FFFF:${mappedHex}`, `0:0:0:0:0:ffff:${v4}`, `0000::FFFF:${v4}`];
    const statuses: number[] = [];
    for (let i = 0; i <= PER_ADDRESS; i++) {
      const client = portalClient({ ip: spellings[i % spellings.length] });
      statuses.push((await portalLogin(client, uniqueEmail(), "some wrong password")).status);
    }
    expect(statuses.slice(0, PER_ADDRESS)).toEqual(Array(PER_ADDRESS).fill(401));
    expect(statuses[PER_ADDRESS]).toBe(429);
  }, 120_000);

  it("counts password reset requests per client the same way (20 an hour from one /64)", async () => {
    const perAddress = MAIL_LIMITS.resetPerAddress.attempts;
    const prefix = `2001:db8:${hex16()}:${hex16()}`;
    const statuses: number[] = [];
    for (let i = 0; i <= perAddress; i++) {
      const client = portalClient({ ip: `${prefix}:${hex16()}::${(i + 1).toString(16)}` });
      const csrf = await portalCsrf(client);
      const response = await client.fetch("/portal/api/password/forgot", {
        method: "POST",
        headers: { "X-CSRF-Token": csrf },
        json: { email: uniqueEmail() },
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([...Array(perAddress).fill(202), 429]);
  });
});

describe("no third party can lock a developer out of logging in (issue 18.5)", () => {
  it("ten wrong passwords from rotating addresses: the owner with the right password from another signs in, slowed down", async () => {
    const { email } = await portalDeveloper();
    for (let i = 0; i < PER_EMAIL; i++)
      expect((await portalLogin(portalClient(), email, `wrong password ${i}`)).status).toBe(401);
    // portalDeveloper's login, ten wrong ones, and this: the 12th attempt on the email in 15 minutes.
    const { result, delays } = await reportedDelays(() => timedLogin(portalClient(), email));
    expect(result.response.status).toBe(200);
    const expected = loginSlowdownMs(PER_EMAIL + 2, PER_EMAIL, SLOWDOWN_MAX_MS);
    expect(expected).toBeGreaterThan(0);
    expect(delays).toEqual([expected]);
    // The delay was waited (a lower bound only, with a wide margin: never a timing upper bound).
    expect(result.ms).toBeGreaterThanOrEqual(expected * 0.8);
  });

  it("refuses one client that keeps trying one email (429 + Retry-After), not the others", async () => {
    const { email } = await portalDeveloper();
    const attacker = portalClient();
    const statuses: number[] = [];
    for (let i = 0; i < PER_EMAIL; i++)
      statuses.push((await portalLogin(attacker, email, `wrong password ${i}`)).status);
    expect(statuses).toEqual(Array(PER_EMAIL).fill(401));
    const refused = await portalLogin(attacker, email);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await problemOf(refused)).toMatchObject({ type: "/problems/rate-limited" });
    // Even the right password from the refused client waits for its window; from anywhere else it works.
    expect((await portalLogin(portalClient(), email)).status).toBe(200);
  });

  it("answers a wrong password alike for a known and an unknown email, slowed down alike", async () => {
    const known = uniqueEmail();
    expect((await portalSignUp(portalClient(), known)).status).toBe(202);
    const unknown = uniqueEmail();
    const answers: Record<string, { status: number; body: unknown; delays: number[] }> = {};
    // Interleaved, each attempt from its own client: past the free attempts, both are slowed.
    const attempts = PER_EMAIL + 2;
    for (let i = 0; i < attempts; i++) {
      for (const [kind, email] of [
        ["known", known],
        ["unknown", unknown],
      ] as const) {
        const { result, delays } = await reportedDelays(() =>
          timedLogin(portalClient(), email, "not the password"),
        );
        if (i === attempts - 1) {
          answers[kind] = { status: result.response.status, body: await comparable(result.response), delays };
          expect(result.ms).toBeGreaterThanOrEqual((delays[0] ?? 0) * 0.8);
        }
      }
    }
    expect(answers.known?.status).toBe(401);
    expect(answers.known).toEqual(answers.unknown);
    expect(answers.known?.delays).toEqual([loginSlowdownMs(attempts, PER_EMAIL, SLOWDOWN_MAX_MS)]);
  }, 60_000);

  it("slows down from an eighth of the cap, doubling, to the cap; never for the free attempts", () => {
    expect([10, 11, 12, 13, 14, 15, 100].map((n) => loginSlowdownMs(n, 10, 2000))).toEqual([
      0, 250, 500, 1000, 2000, 2000, 2000,
    ]);
    expect(loginSlowdownMs(1_000_000, 10, 2000)).toBe(2000);
    expect(loginSlowdownMs(50, 10, 0)).toBe(0);
  });
});

describe("no third party can keep a developer from resetting the password (issue 18.5, same kind)", () => {
  /** POST /password/forgot from `client`, waiting for its after-response work (the lookup and the mail). */
  async function forgotAndSettle(email: string, client = portalClient()) {
    const csrf = await portalCsrf(client);
    return gatewayWith({}, "/portal/api/password/forgot", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-CSRF-Token": csrf,
        Origin: BASE,
        "CF-Connecting-IP": client.ip,
        Cookie: `__Host-gw_presession=${client.cookie("__Host-gw_presession")}`,
      },
      body: JSON.stringify({ email }),
    });
  }

  it("requests from rotating addresses are paced, never refused: the owner still gets a working link", async () => {
    expect(RESET_MAIL_SPACING_MS).toBeLessThan(TOKEN_LIFETIMES_MS.reset_password);
    const { email } = await portalDeveloper();
    const before = (await mailsTo(email)).length;
    // A third party asks five times, each from another address: every answer is the usual 202.
    for (let i = 0; i < 5; i++) expect((await forgotAndSettle(email)).status).toBe(202);
    // The owner asks from yet another address: the usual answer too, not a 429.
    const owners = await forgotAndSettle(email);
    expect(owners.status).toBe(202);
    // The inbox got the first three at once, then nothing while paced (10 minutes per mail).
    expect(await mailsTo(email)).toHaveLength(before + 3);
    // The newest link works: the owner is not locked out.
    const link = await linkInMail(email, "/portal/reset", before + 3);
    expect((await portalResetPassword(tokenFromLink(link), "the owner's new passphrase")).status).toBe(204);
    expect((await portalLogin(portalClient(), email, "the owner's new passphrase")).status).toBe(200);
    // With that link used, none is left: the next request mails at once, pacing or not.
    expect((await forgotAndSettle(email)).status).toBe(202);
    expect(await mailsTo(email)).toHaveLength(before + 4);
  }, 60_000);

  it("refuses one client that keeps asking for one email (429 + Retry-After), not the others", async () => {
    const email = uniqueEmail();
    const client = portalClient({ ip: uniqueClientAddress() });
    for (let i = 0; i < 3; i++) expect((await forgotAndSettle(email, client)).status).toBe(202);
    const refused = await forgotAndSettle(email, client);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect((await forgotAndSettle(email)).status).toBe(202);
  });
});
