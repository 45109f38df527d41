import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { accounts } from "../../src/db/schema/accounts";
import { portalCredentials } from "../../src/db/schema/portal-credentials";
import { createAccount as createAccountRecord } from "../../src/keys/account-service";
import { hashPassword, PASSWORD_ITERATIONS, verifyPassword } from "../../src/portal/auth/password-hash";
import { sha256Hex } from "../../src/portal/auth/session-store";
import { SIGN_UP_MIN_MS } from "../../src/portal/services/sign-in";
import {
  createAccount,
  PORTAL_PASSWORD,
  portalApi,
  portalClient,
  portalCsrf,
  portalDeveloper,
  portalForm,
  portalLogin,
  portalSignUp,
  problemOf,
  redis,
  uniqueEmail,
  withDatabase,
} from "./support";

const SESSION = "__Host-gw_session";

/** A problem body without what differs between any two requests. */
async function comparable(response: Response) {
  const { requestId: _id, ...rest } = await problemOf(response);
  return { status: response.status, ...rest };
}

describe("portal: passwords", () => {
  it("hashes with PBKDF2-SHA256 at 100,000 iterations, self-describing, in well under a second", async () => {
    const started = performance.now();
    const stored = await hashPassword("a password of some length");
    const elapsed = performance.now() - started;
    console.info(
      `[portal] PBKDF2-SHA256 ${PASSWORD_ITERATIONS} iterations: ${elapsed.toFixed(1)} ms in workerd`,
    );
    expect(stored).toMatch(/^\$pbkdf2-sha256\$i=100000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(elapsed).toBeLessThan(1000);
    expect(await verifyPassword("a password of some length", stored)).toBe(true);
    expect(await verifyPassword("a password of some lengtH", stored)).toBe(false);
    // Same password, fresh salt: never the same hash twice.
    expect(await hashPassword("a password of some length")).not.toBe(stored);
  });

  it("stores only the hash, and upgrades a weaker stored hash at the next login", async () => {
    const { accountId, email } = await portalDeveloper();
    const [row] = await withDatabase((db) =>
      db.select().from(portalCredentials).where(eq(portalCredentials.accountId, accountId)),
    );
    expect(row?.passwordHash).toMatch(/^\$pbkdf2-sha256\$i=100000\$/);
    expect(row?.passwordHash).not.toContain(PORTAL_PASSWORD);

    const weak = await hashPassword(PORTAL_PASSWORD, 1000);
    await withDatabase((db) =>
      db
        .update(portalCredentials)
        .set({ passwordHash: weak })
        .where(eq(portalCredentials.accountId, accountId)),
    );
    expect((await portalLogin(portalClient(), email)).status).toBe(200);
    const [upgraded] = await withDatabase((db) =>
      db.select().from(portalCredentials).where(eq(portalCredentials.accountId, accountId)),
    );
    expect(upgraded?.passwordHash).toMatch(/^\$pbkdf2-sha256\$i=100000\$/);
    expect(await verifyPassword(PORTAL_PASSWORD, upgraded?.passwordHash as string)).toBe(true);
  });
});

describe("portal: sign up, log in, log out", () => {
  it("writes the account and its credentials in one transaction: a failure between them leaves neither", async () => {
    const email = uniqueEmail();
    await withDatabase(async (db) => {
      const deps = {
        db,
        redis,
        keyEnvironment: "test" as const,
        actor: { type: "portal" as const, id: "test" },
      };
      const failing = createAccountRecord(deps, { email, tier: "free" }, async (tx, account) => {
        await tx.insert(portalCredentials).values({ accountId: account.id, passwordHash: "x" });
        throw new Error("the credentials step failed");
      });
      await expect(failing).rejects.toThrow("the credentials step failed");
      expect(await db.select().from(accounts).where(eq(accounts.email, email))).toEqual([]);
    });
  });

  it("signs up (free tier, audited as the portal), logs in with a hardened session cookie, logs out", async () => {
    const client = portalClient();
    const email = uniqueEmail();
    const signedUp = await portalSignUp(client, email);
    expect(signedUp.status).toBe(202);
    expect(await signedUp.json()).toMatchObject({ status: "accepted" });
    expect(client.cookie(SESSION)).toBeUndefined();

    const login = await portalLogin(client, email);
    expect(login.status).toBe(200);
    const body = (await login.json()) as {
      account: { id: string; email: string; tier: string };
      csrfToken: string;
    };
    expect(body.account).toMatchObject({ email, tier: "free" });
    const setCookie = login.headers.getSetCookie().find((line) => line.startsWith(`${SESSION}=`)) ?? "";
    expect(setCookie).toMatch(/; HttpOnly/i);
    expect(setCookie).toMatch(/; Secure/i);
    expect(setCookie).toMatch(/; SameSite=Lax/i);
    expect(setCookie).toMatch(/; Path=\//i);
    expect(setCookie).not.toMatch(/Domain=/i);
    expect(setCookie).toMatch(/; Max-Age=604800/i);

    // Redis has the session under the id's hash, never the id itself.
    const id = client.cookie(SESSION) as string;
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await redis.get(`gw:portal:session:${id}`)).toBeNull();
    expect(await redis.get(`gw:portal:session:${await sha256Hex(id)}`)).toMatchObject({
      accountId: body.account.id,
    });
    expect(await redis.ttl(`gw:portal:session:${await sha256Hex(id)}`)).toBeGreaterThan(600_000);

    const session = await portalApi(client, "/session");
    expect(session.status).toBe(200);
    expect(session.headers.get("Cache-Control")).toBe("no-store");
    expect(await session.json()).toMatchObject({
      account: { id: body.account.id },
      csrfToken: body.csrfToken,
    });

    const events = await withDatabase((db) =>
      db.execute<{ actor_type: string; actor_id: string; action: string }>(
        `select actor_type, actor_id, action from audit_events where account_id = '${body.account.id}'`,
      ),
    );
    // The developer who signed up is the actor, named by their new account's id.
    expect(events.rows).toEqual([
      { actor_type: "portal", actor_id: body.account.id, action: "account.created" },
    ]);

    const logout = await portalApi(client, "/logout", { method: "POST" });
    expect(logout.status).toBe(204);
    expect(logout.headers.getSetCookie().join("\n")).toMatch(/__Host-gw_session=; Max-Age=0/);
    expect(await redis.get(`gw:portal:session:${await sha256Hex(id)}`)).toBeNull();
    // The old cookie is dead on the server too, whatever a browser kept.
    const replay = portalClient();
    const replayed = await replay.fetch("/portal/api/session", { headers: { Cookie: `${SESSION}=${id}` } });
    expect(replayed.status).toBe(401);
  });

  it("answers an unknown email and a wrong password identically, after the same PBKDF2 work", async () => {
    const { email } = await portalDeveloper();
    // Count the PBKDF2 runs each answer cost: the worker runs in this isolate, so its WebCrypto is this one.
    const deriveBits = vi.spyOn(crypto.subtle, "deriveBits");
    const pbkdf2Iterations = () =>
      deriveBits.mock.calls
        .map(([algorithm]) => algorithm as { name: string; iterations?: number })
        .filter((algorithm) => algorithm.name === "PBKDF2")
        .map((algorithm) => algorithm.iterations);
    const wrong = await portalLogin(portalClient(), email, "not the password");
    const wrongRuns = pbkdf2Iterations();
    deriveBits.mockClear();
    const unknown = await portalLogin(portalClient(), uniqueEmail(), "not the password");
    const unknownRuns = pbkdf2Iterations();
    deriveBits.mockRestore();
    expect(wrong.status).toBe(401);
    expect(await comparable(wrong)).toEqual(await comparable(unknown));
    expect(wrong.headers.getSetCookie().filter((line) => line.includes("gw_session="))).toEqual([]);
    expect(wrongRuns).toEqual([PASSWORD_ITERATIONS]);
    expect(unknownRuns).toEqual([PASSWORD_ITERATIONS]);

    // The page says the same for both.
    const page = async (address: string) => {
      const client = portalClient();
      await client.fetch("/portal/login");
      const html = await (await client.fetch("/portal/login")).text();
      const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
      const response = await client.fetch("/portal/login", {
        method: "POST",
        form: { _csrf: token, email: address, password: "not the password" },
      });
      return {
        status: response.status,
        error: /<p class="error" role="alert">([^<]*)</.exec(await response.text())?.[1],
      };
    };
    const wrongPage = await page(email);
    expect(wrongPage).toEqual(await page(uniqueEmail()));
    expect(wrongPage).toEqual({ status: 401, error: "The email or password is not correct." });
  });

  it("gives a taken email the same answer as a free one, no sooner, and changes nothing", async () => {
    const { email } = await portalDeveloper();
    const timed = async (address: string) => {
      const client = portalClient();
      const csrf = await portalCsrf(client);
      const started = Date.now();
      const response = await client.fetch("/portal/api/signup", {
        method: "POST",
        headers: { "X-CSRF-Token": csrf },
        json: { email: address, password: "another password here" },
      });
      return { response, ms: Date.now() - started };
    };
    const again = await timed(email.toUpperCase());
    const fresh = await timed(uniqueEmail());
    expect(again.response.status).toBe(202);
    expect(await again.response.json()).toEqual(await fresh.response.json());
    // Both wait out the same floor, so the time taken does not tell a taken email from a free one.
    expect(again.ms).toBeGreaterThanOrEqual(SIGN_UP_MIN_MS);
    expect(fresh.ms).toBeGreaterThanOrEqual(SIGN_UP_MIN_MS);
    expect((await portalLogin(portalClient(), email, "another password here")).status).toBe(401);
    expect((await portalLogin(portalClient(), email)).status).toBe(200);
  });

  it("does not let sign-up claim an account made by the admin API", async () => {
    const account = await createAccount();
    expect((await portalSignUp(portalClient(), account.email)).status).toBe(202);
    expect((await portalLogin(portalClient(), account.email)).status).toBe(401);
  });

  it("validates input with a 400 problem listing the fields, and malformed JSON with a 400", async () => {
    const client = portalClient();
    const csrf = await portalCsrf(client);
    const invalid = await client.fetch("/portal/api/signup", {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
      json: { email: "not-an-email", password: "short" },
    });
    expect(invalid.status).toBe(400);
    const problem = await problemOf(invalid);
    expect(problem.type).toBe("/problems/validation-failed");
    expect((problem.errors as Array<{ path: string }>).map((error) => error.path).sort()).toEqual([
      "email",
      "password",
    ]);

    const malformed = await client.fetch("/portal/api/login", {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: "{not json",
    });
    expect(malformed.status).toBe(400);
    expect((await problemOf(malformed)).status).toBe(400);
  });
});

describe("portal: sessions and CSRF", () => {
  it("answers 401 without a session and redirects pages to the login page", async () => {
    const client = portalClient();
    expect((await client.fetch("/portal/api/keys")).status).toBe(401);
    expect((await client.fetch("/portal/api/keys", { method: "POST", json: { name: "x" } })).status).toBe(
      401,
    );
    expect(await problemOf(await client.fetch("/portal/api/usage"))).toMatchObject({
      type: "/problems/unauthorized",
    });
    const page = await client.fetch("/portal/keys");
    expect(page.status).toBe(303);
    expect(page.headers.get("Location")).toBe("/portal/login");
    const forged = await client.fetch("/portal/api/session", {
      headers: { Cookie: `${SESSION}=${"A".repeat(43)}` },
    });
    expect(forged.status).toBe(401);
  });

  it("refuses unsafe requests without the session's CSRF token with 403", async () => {
    const { client } = await portalDeveloper();
    const other = await portalDeveloper();
    const create = (token: string | undefined) =>
      client.fetch("/portal/api/keys", {
        method: "POST",
        headers: token === undefined ? {} : { "X-CSRF-Token": token },
        json: { name: "csrf" },
      });
    const missing = await create(undefined);
    expect(missing.status).toBe(403);
    expect(await problemOf(missing)).toMatchObject({ type: "/problems/forbidden" });
    expect((await create("x".repeat(43))).status).toBe(403);
    // Another developer's valid token is not this session's.
    expect((await create(other.client.csrf)).status).toBe(403);
    expect((await create(client.csrf)).status).toBe(201);

    // Forms: a missing field, and a form posted from another site (Origin check, before the token).
    expect((await client.fetch("/portal/keys", { method: "POST", form: { name: "no token" } })).status).toBe(
      403,
    );
    const crossSite = await client.fetch("/portal/keys", {
      method: "POST",
      headers: { Origin: "https://evil.example" },
      form: { _csrf: client.csrf ?? "", name: "cross site" },
    });
    expect(crossSite.status).toBe(403);
    expect((await portalForm(client, "/portal/keys", { name: "same site" })).status).toBe(201);

    const keys = (await (await portalApi(client, "/keys")).json()) as { keys: Array<{ name: string }> };
    expect(keys.keys.map((key) => key.name).sort()).toEqual(["csrf", "same site"]);
  });

  it("binds the sign-up and login token to the presession cookie (login CSRF)", async () => {
    const client = portalClient();
    const email = uniqueEmail();
    await portalSignUp(client, email);
    const attacker = portalClient();
    const attackerToken = await portalCsrf(attacker);
    const forged = await client.fetch("/portal/api/login", {
      method: "POST",
      headers: { "X-CSRF-Token": attackerToken },
      json: { email, password: PORTAL_PASSWORD },
    });
    expect(forged.status).toBe(403);
    const noCookie = portalClient();
    const withoutPresession = await noCookie.fetch("/portal/api/signup", {
      method: "POST",
      headers: { "X-CSRF-Token": attackerToken },
      json: { email: uniqueEmail(), password: PORTAL_PASSWORD },
    });
    expect(withoutPresession.status).toBe(403);
  });
});

describe("portal: login rate limit", () => {
  it("limits attempts per email from one client, with Retry-After; other clients and emails are not refused", async () => {
    const { email } = await portalDeveloper();
    const client = portalClient();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++)
      statuses.push((await portalLogin(client, email, `wrong ${i} password`)).status);
    expect(statuses).toEqual(Array(10).fill(401));
    const limited = await portalLogin(client, email);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await problemOf(limited)).toMatchObject({ type: "/problems/rate-limited" });
    // Another email from the same client is not affected, nor the email from another client (issue 18.5:
    // faults-login-limits.test.ts has the rest).
    expect((await portalLogin(client, uniqueEmail(), "whatever password")).status).toBe(401);
    expect((await portalLogin(portalClient(), email)).status).toBe(200);
  });

  it("limits attempts per IP across emails", async () => {
    const client = portalClient();
    const statuses: number[] = [];
    for (let i = 0; i < 51; i++)
      statuses.push((await portalLogin(client, uniqueEmail(), "some password")).status);
    expect(statuses.slice(0, 50)).toEqual(Array(50).fill(401));
    expect(statuses[50]).toBe(429);
    // A different IP may still try.
    expect((await portalLogin(portalClient(), uniqueEmail(), "some password")).status).toBe(401);
  });
});

describe("portal: secrets stay out of logs", () => {
  afterEach(() => vi.restoreAllMocks());

  it("logs no password, session id, CSRF token or key", async () => {
    const lines: string[] = [];
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
    const { client } = await portalDeveloper();
    await portalLogin(portalClient(), uniqueEmail(), "an unknown user's password");
    const created = (await (
      await portalApi(client, "/keys", { method: "POST", json: { name: "logs" } })
    ).json()) as {
      key: string;
    };
    await portalApi(client, "/keys", {
      method: "POST",
      headers: { "X-CSRF-Token": "wrong" },
      json: { name: "x" },
    });
    vi.restoreAllMocks();
    const secrets = [
      PORTAL_PASSWORD,
      "an unknown user's password",
      client.cookie(SESSION),
      client.csrf,
      created.key,
    ];
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(secret).toBeTruthy();
      for (const line of lines) expect(line).not.toContain(secret as string);
    }
  });
});
