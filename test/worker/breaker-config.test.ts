import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/config";
import worker from "../../src/index";
import { accountRow, accountWithKey, linkInMail, stripeCalls, uniqueEmail } from "./support";

// Misconfigured settings on every kind of route, and the Host header on the portal's own flows with PORTAL_URL
// set (issue 18 item 12, issue 15): tried as an operator's typo and an attacker's Host header would.

async function call(overrides: Record<string, string>, url: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(url, init), { ...env, ...overrides } as Bindings, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const SECRETISH = [
  env.ADMIN_TOKEN,
  env.UPSTASH_REDIS_REST_TOKEN,
  env.ORIGIN_SHARED_SECRET,
  env.DATABASE_URL,
].filter((value): value is string => typeof value === "string" && value.length > 0);

describe("breaker: misconfigured settings", () => {
  it("answer a 500 misconfigured problem naming the setting, with a request id, never a value or a stack", async () => {
    const { key } = await accountWithKey("free");
    const cases: Array<[string, Record<string, string>]> = [
      ["Unknown setting PORTAL_ULR; did you mean PORTAL_URL?", { PORTAL_ULR: "https://x.test" }],
      ["Unknown setting portal_url; did you mean PORTAL_URL?", { portal_url: "https://x.test" }],
      ["RATE_LIMIT_FAIL_MODE must be one of open, closed", { RATE_LIMIT_FAIL_MODE: "maybe" }],
      ["RATE_LIMIT_FAIL_MODE must be one of open, closed", { RATE_LIMIT_FAIL_MODE: "OPEN" }],
      ["PLAN_DOWNGRADE_TIMING must be one of period_end, immediately", { PLAN_DOWNGRADE_TIMING: "later" }],
      ["PORTAL_URL must be an http(s) URL", { PORTAL_URL: "javascript:alert(1)" }],
      ["PORTAL_URL must be an http(s) URL", { PORTAL_URL: "portal.acme.dev" }],
      ["DATABASE_URL must be a postgres:// URL", { DATABASE_URL: "mysql://u:hunter2secretpw@db/x" }],
      [
        "UPSTASH_REDIS_REST_URL must be an http(s) URL",
        { UPSTASH_REDIS_REST_URL: "ftp://u:hunter2secretpw@x" },
      ],
      ["ADMIN_TOKEN must be at least 16 characters", { ADMIN_TOKEN: "hunter2" }],
      [
        "Unknown setting ADMIN_TOKN; did you mean ADMIN_TOKEN?",
        { ADMIN_TOKN: "hunter2secretpwhunter2secretpw" },
      ],
      ["PORTAL_URL is required when KEY_ENVIRONMENT is live", { KEY_ENVIRONMENT: "live", PORTAL_URL: "" }],
      ["KEY_ENVIRONMENT must be one of live, test", { KEY_ENVIRONMENT: "Live" }],
      ["PORTAL_LOGO_URL must be", { PORTAL_LOGO_URL: "hunter2secretpw" }],
      ["PORTAL_ACCENT_COLOR must be", { PORTAL_ACCENT_COLOR: "red;}</style><script>hunter2" }],
      ["MAX_BODY_BYTES must be a whole number", { MAX_BODY_BYTES: "ten" }],
      ["API_PREFIXES must be comma-separated path prefixes", { API_PREFIXES: "v1,/../x" }],
    ];
    const paths: Array<[string, RequestInit]> = [
      ["/health", {}],
      ["/v1/anything", { headers: { "X-API-Key": key } }],
      ["/portal/api/csrf", {}],
      ["/portal", {}],
      ["/admin/v1/accounts", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }],
      ["/webhooks/stripe", { method: "POST", body: "{}" }],
      ["/openapi.json", {}],
    ];
    for (const [issue, overrides] of cases) {
      for (const [path, init] of paths) {
        const what = `${JSON.stringify(overrides)} ${path}`;
        const response = await call(overrides, `http://gateway.test${path}`, init);
        expect(response.status, what).toBe(500);
        expect(response.headers.get("Content-Type"), what).toBe("application/problem+json");
        const requestId = response.headers.get("X-Request-Id");
        expect(requestId, what).toBeTruthy();
        const body = await response.text();
        expect(JSON.parse(body), what).toMatchObject({ type: "/problems/misconfigured", requestId });
        expect(body, what).toContain(issue);
        for (const secret of [...SECRETISH, "hunter2"]) expect(body.includes(secret), what).toBe(false);
        expect(body, what).not.toMatch(/at .*\.ts:\d+/);
      }
    }
  });
});

// A browser-like client on a chosen host with chosen bindings.
function hostClient(host: string, overrides: Record<string, string>) {
  const jar = new Map<string, string>();
  let csrf = "";
  const ip = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:9::1`;
  async function fetchIt(path: string, init: RequestInit & { json?: unknown } = {}) {
    const headers = new Headers(init.headers);
    headers.set("CF-Connecting-IP", ip);
    if (jar.size) headers.set("Cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    const method = (init.method ?? "GET").toUpperCase();
    if (method !== "GET") {
      headers.set("Origin", `http://${host}`);
      if (csrf) headers.set("X-CSRF-Token", csrf);
    }
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(init.json);
    }
    const response = await call(overrides, `http://${host}${path}`, {
      ...init,
      method,
      headers,
      body,
      redirect: "manual",
    });
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(";")[0] ?? "";
      const eq = pair.indexOf("=");
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const clone = response.clone();
    if ((clone.headers.get("Content-Type") ?? "").includes("application/json")) {
      const json = (await clone.json()) as { csrfToken?: string };
      if (json.csrfToken) csrf = json.csrfToken;
    }
    return response;
  }
  return { fetch: fetchIt };
}

describe("breaker: Host header with PORTAL_URL set", () => {
  it("build the portal's verification and reset links, Checkout returns and billing-portal return on PORTAL_URL", async () => {
    const PORTAL_URL = "https://portal.acme.test";
    const client = hostClient("evil.example", { PORTAL_URL, PORTAL_REQUIRE_VERIFIED_EMAIL: "false" });
    const email = uniqueEmail();
    await client.fetch("/portal/api/csrf");
    const signup = await client.fetch("/portal/api/signup", {
      method: "POST",
      json: { email, password: "correct horse battery staple" },
    });
    const verify = await linkInMail(email, "/portal/verify");
    const forgot = await client.fetch("/portal/api/password/forgot", { method: "POST", json: { email } });
    const reset = await linkInMail(email, "/portal/reset", 2);
    const login = await client.fetch("/portal/api/login", {
      method: "POST",
      json: { email, password: "correct horse battery staple" },
    });
    const loginJson = (await login.clone().json()) as { account: { id: string } };
    const created = await client.fetch("/portal/api/keys", { method: "POST", json: { name: "k" } });
    const keysPage = await (await client.fetch("/portal/keys")).text();
    const checkout = await client.fetch("/portal/api/billing/checkout", {
      method: "POST",
      json: { tier: "basic" },
    });
    const session = (await stripeCalls()).filter(
      (c) => c.path === "/v1/checkout/sessions" && c.params.client_reference_id === loginJson.account.id,
    );
    const billingPortal = await client.fetch("/portal/api/billing/portal", { method: "POST" });
    const customer = (await accountRow(loginJson.account.id)).stripeCustomerId;
    const portalCalls = (await stripeCalls()).filter(
      (c) => c.path === "/v1/billing_portal/sessions" && c.params.customer === customer,
    );
    expect(signup.status).toBe(202);
    expect(verify.startsWith(`${PORTAL_URL}/portal/verify?token=`)).toBe(true);
    expect(forgot.status).toBe(202);
    expect(reset.startsWith(`${PORTAL_URL}/portal/reset?token=`)).toBe(true);
    expect(login.status).toBe(200);
    expect(created.status).toBe(201);
    expect(keysPage).not.toContain("evil.example");
    expect(checkout.status).toBe(201);
    expect(session).toHaveLength(1);
    expect(session[0]?.params.success_url).toBe(
      `${PORTAL_URL}/portal/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
    );
    expect(session[0]?.params.cancel_url).toBe(`${PORTAL_URL}/portal/billing?checkout=cancelled`);
    expect(billingPortal.status).toBe(201);
    expect(portalCalls).toHaveLength(1);
    expect(portalCalls[0]?.params.return_url).toBe(`${PORTAL_URL}/portal/billing`);
  });
});
