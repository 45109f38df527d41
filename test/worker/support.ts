import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { Redis } from "@upstash/redis/cloudflare";
import { eq } from "drizzle-orm";
import Stripe from "stripe";
import { vi } from "vitest";
import { type Bindings, parseConfig } from "../../src/config";
import { type Database, openDatabase } from "../../src/db/client";
import { type Account, accounts } from "../../src/db/schema/accounts";
import worker from "../../src/index";
import { plans } from "../../src/plans/plans";

export const BASE = "http://gateway.test";
export const ADMIN_TOKEN = env.ADMIN_TOKEN as string;

/** Calls the worker under test through its main export, as a client would. */
export function gateway(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

/**
 * Calls the worker with some bindings changed (an unreachable Redis, a short origin timeout...). By default
 * it waits for the request's after-response work so nothing leaks into the next test; `background: "keep"`
 * returns at once, as a real client would, leaving that work running (collect it with settleBackground()).
 */
export async function gatewayWith(
  overrides: Partial<Bindings>,
  path: string,
  init?: RequestInit,
  options: { background?: "wait" | "keep" } = {},
): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`${BASE}${path}`, init), { ...env, ...overrides }, ctx);
  if (options.background === "keep") pendingContexts.push(ctx);
  else await waitOnExecutionContext(ctx);
  return response;
}

const pendingContexts: ExecutionContext[] = [];

/**
 * Holds Date (timers stay real) 10 s into the next one-minute rate-limit window and returns that unix ms:
 * a test's requests then fall in one window whatever the minute, and nothing that a second's passing
 * triggers (a lease lapsing, a refusal's re-check) happens until the test moves the clock. The calling file
 * gives the real clock back in afterEach (vi.useRealTimers).
 */
export function holdClockInNextWindow(): number {
  const windowMs = plans.free.rateLimit.windowSeconds * 1000;
  const start = (Math.floor(Date.now() / windowMs) + 1) * windowMs + 10_000;
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(start);
  return start;
}

/** Waits for the after-response work of every `background: "keep"` call so far. */
export async function settleBackground(): Promise<void> {
  const contexts = pendingContexts.splice(0);
  await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));
}

export function admin(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${ADMIN_TOKEN}`);
  if (init.json !== undefined) headers.set("Content-Type", "application/json");
  return gateway(`/admin/v1${path}`, {
    ...init,
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
  });
}

export interface TestAccount {
  id: string;
  email: string;
  tier: string;
}

let counter = 0;
export function uniqueEmail(): string {
  counter += 1;
  return `dev${Date.now()}${counter}${Math.floor(Math.random() * 1e6)}@example.com`;
}

export async function createAccount(tier = "free"): Promise<TestAccount> {
  const response = await admin("/accounts", { method: "POST", json: { email: uniqueEmail(), tier } });
  if (response.status !== 201)
    throw new Error(`account creation failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as TestAccount;
}

export async function createKey(accountId: string, body: Record<string, unknown> = {}) {
  const response = await admin(`/accounts/${accountId}/keys`, { method: "POST", json: body });
  if (response.status !== 201)
    throw new Error(`key creation failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as {
    id: string;
    key: string;
    start: string;
    status: string;
    expiresAt: string | null;
  };
}

/** An account of `tier` with one fresh key. */
export async function accountWithKey(tier = "free") {
  const account = await createAccount(tier);
  const key = await createKey(account.id, { name: "test" });
  return { account, key: key.key, keyId: key.id };
}

/** The same Redis the worker uses, through the same client library. */
export const redis = new Redis({
  url: env.UPSTASH_REDIS_REST_URL as string,
  token: env.UPSTASH_REDIS_REST_TOKEN as string,
  enableTelemetry: false,
});

export const withKey = (key: string, init: RequestInit = {}): RequestInit => {
  const headers = new Headers(init.headers);
  headers.set("X-API-Key", key);
  return { ...init, headers };
};

export async function problemOf(response: Response): Promise<Record<string, unknown>> {
  if (response.headers.get("Content-Type") !== "application/problem+json") {
    throw new Error(
      `expected problem+json, got ${response.headers.get("Content-Type")}: ${await response.text()}`,
    );
  }
  return (await response.json()) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------
// Billing (test/worker/billing-*.test.ts): Postgres for assertions, signed Stripe events, the Stripe stand-in.
// ---------------------------------------------------------------------------------------------------------

/**
 * Postgres as the worker reaches it (Neon's driver through the local proxy), for a test to read or seed
 * rows. The pool lives for the callback only: workerd forbids sharing its socket across requests.
 */
export async function withDatabase<T>(use: (db: Database) => Promise<T>): Promise<T> {
  const { db, close } = openDatabase(parseConfig(env));
  try {
    return await use(db);
  } finally {
    await close();
  }
}

export interface TestStripeEvent {
  id: string;
  object: "event";
  type: string;
  created: number;
  livemode: boolean;
  api_version: string;
  data: { object: Record<string, unknown> };
}

let eventCounter = 0;
/** A Stripe-shaped snapshot event with a fresh `evt_` id; `created` (unix seconds) defaults to now. */
export function stripeEvent(
  type: string,
  object: Record<string, unknown>,
  overrides: Partial<TestStripeEvent> = {},
): TestStripeEvent {
  eventCounter += 1;
  return {
    id: `evt_test${Date.now()}${eventCounter}${Math.floor(Math.random() * 1e6)}`,
    object: "event",
    type,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    api_version: Stripe.API_VERSION,
    data: { object },
    ...overrides,
  };
}

/**
 * POSTs a body to /webhooks/stripe signed by the stripe package with the worker's STRIPE_WEBHOOK_SECRET
 * (or `secret`). Inside workerd the package has only Web Crypto, hence the async signer.
 */
export async function deliverStripeEvent(
  event: TestStripeEvent | string,
  options: { secret?: string; overrides?: Partial<Bindings> } = {},
): Promise<Response> {
  const payload = typeof event === "string" ? event : JSON.stringify(event);
  const signature = await Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: options.secret ?? (env.STRIPE_WEBHOOK_SECRET as string),
  });
  const init = { method: "POST", headers: { "Stripe-Signature": signature }, body: payload };
  return options.overrides
    ? gatewayWith(options.overrides, "/webhooks/stripe", init)
    : gateway("/webhooks/stripe", init);
}

/** A call the local Stripe stand-in received (scripts/stack/stripe-standin.ts). */
export interface StripeCall {
  method: string;
  path: string;
  params: Record<string, unknown>;
  idempotencyKey: string | null;
  status: number;
}

const standin = (path: string, init?: RequestInit) => fetch(`${env.STRIPE_API_BASE}${path}`, init);

/** Every call the stand-in received so far (other test files share it: filter by your own ids). */
export async function stripeCalls(): Promise<StripeCall[]> {
  return ((await (await standin("/__standin/calls")).json()) as { calls: StripeCall[] }).calls;
}

/** A subscription in the stand-in, as Stripe has it once a customer completed Checkout. */
export async function seedStripeSubscription(input: {
  customer: string;
  prices: string[];
  status?: string;
  metadata?: Record<string, string>;
}): Promise<{ id: string }> {
  const response = await standin("/__standin/subscriptions", { method: "POST", body: JSON.stringify(input) });
  return (await response.json()) as { id: string };
}

const uniqueSuffix = () => `${Date.now()}${Math.floor(Math.random() * 1e9)}`;

/** Links a fresh Stripe customer id to an account, as a first checkout does; returns the id. */
export async function linkStripeCustomer(accountId: string): Promise<string> {
  const customerId = `cus_test${uniqueSuffix()}`;
  await withDatabase((db) =>
    db.update(accounts).set({ stripeCustomerId: customerId }).where(eq(accounts.id, accountId)),
  );
  return customerId;
}

/** The account's row as Postgres has it now (tier, billing state). */
export async function accountRow(accountId: string): Promise<Account> {
  const [row] = await withDatabase((db) => db.select().from(accounts).where(eq(accounts.id, accountId)));
  if (!row) throw new Error(`no account ${accountId}`);
  return row;
}

/** A Stripe subscription object as webhooks carry it. */
export function subscriptionObject(input: {
  customer: string;
  price: string;
  status?: string;
  id?: string;
  metadata?: Record<string, string>;
}) {
  const id = input.id ?? `sub_test${uniqueSuffix()}`;
  return {
    id,
    object: "subscription",
    customer: input.customer,
    status: input.status ?? "active",
    metadata: input.metadata ?? {},
    items: {
      object: "list",
      data: [{ id: `si_${id}`, object: "subscription_item", price: { id: input.price } }],
    },
  };
}

/** A Stripe invoice object of a subscription, in the current API version's shape (parent.subscription_details). */
export function invoiceObject(input: { customer: string; subscription: string }) {
  return {
    id: `in_test${uniqueSuffix()}`,
    object: "invoice",
    customer: input.customer,
    parent: { type: "subscription_details", subscription_details: { subscription: input.subscription } },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Developer portal (test/worker/portal-*.test.ts): a browser-like client with its own cookie jar and IP.
// ---------------------------------------------------------------------------------------------------------

export interface PortalClient {
  /** Like a browser: sends its cookies, an Origin on unsafe requests, keeps Set-Cookie, follows no redirect. */
  fetch(
    path: string,
    init?: RequestInit & { json?: unknown; form?: Record<string, string> },
  ): Promise<Response>;
  cookie(name: string): string | undefined;
  /** The CSRF token last handed out (GET /portal/api/csrf, login, GET /portal/api/session). */
  csrf: string | undefined;
  /** The CF-Connecting-IP this client's requests come from (its own /64, so login limits do not mix). */
  ip: string;
}

let clientCounter = 0;

/**
 * An IPv6 address in a /64 of its own (2001:db8::/32 is the documentation prefix, RFC 3849): the portal
 * counts clients per /64, so clients that must not share limits need different /64s. 32 random bits pick it.
 */
export function uniqueClientAddress(): string {
  const [high = 0, low = 0] = crypto.getRandomValues(new Uint16Array(2));
  return `2001:db8:${high.toString(16)}:${low.toString(16)}::${(clientCounter % 0xffff).toString(16)}`;
}

export function portalClient(options: { origin?: string; ip?: string } = {}): PortalClient {
  clientCounter += 1;
  const jar = new Map<string, string>();
  const client: PortalClient = {
    csrf: undefined,
    ip: options.ip ?? uniqueClientAddress(),
    cookie: (name) => jar.get(name),
    async fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      headers.set("CF-Connecting-IP", client.ip);
      if (jar.size > 0) headers.set("Cookie", [...jar].map(([name, value]) => `${name}=${value}`).join("; "));
      const method = (init.method ?? "GET").toUpperCase();
      if (method !== "GET" && method !== "HEAD" && !headers.has("Origin"))
        headers.set("Origin", options.origin ?? BASE);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set("Content-Type", "application/json");
        body = JSON.stringify(init.json);
      } else if (init.form !== undefined) {
        headers.set("Content-Type", "application/x-www-form-urlencoded");
        body = new URLSearchParams(init.form).toString();
      }
      const response = await gateway(path, { ...init, method, headers, body, redirect: "manual" });
      for (const line of response.headers.getSetCookie()) {
        const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
        const eq = pair.indexOf("=");
        const name = pair.slice(0, eq);
        const expired = attributes.some((attribute) => /^max-age=0$/i.test(attribute));
        if (expired) jar.delete(name);
        else jar.set(name, pair.slice(eq + 1));
      }
      return response;
    },
  };
  return client;
}

/** GET /portal/api/csrf: the presession cookie and the token bound to it. */
export async function portalCsrf(client: PortalClient): Promise<string> {
  const response = await client.fetch("/portal/api/csrf");
  if (response.status !== 200) throw new Error(`csrf: ${response.status} ${await response.text()}`);
  client.csrf = ((await response.json()) as { csrfToken: string }).csrfToken;
  return client.csrf;
}

export const PORTAL_PASSWORD = "correct horse battery staple";

export async function portalSignUp(client: PortalClient, email: string, password = PORTAL_PASSWORD) {
  const csrf = await portalCsrf(client);
  return client.fetch("/portal/api/signup", {
    method: "POST",
    headers: { "X-CSRF-Token": csrf },
    json: { email, password },
  });
}

/** Sets a new password with a reset link's token, from a fresh client (the link is opened anywhere). */
export async function portalResetPassword(token: string, password: string): Promise<Response> {
  const client = portalClient();
  const csrf = await portalCsrf(client);
  return client.fetch("/portal/api/password/reset", {
    method: "POST",
    headers: { "X-CSRF-Token": csrf },
    json: { token, password },
  });
}

export async function portalLogin(client: PortalClient, email: string, password = PORTAL_PASSWORD) {
  const csrf = client.cookie("__Host-gw_session") ? client.csrf : await portalCsrf(client);
  const response = await client.fetch("/portal/api/login", {
    method: "POST",
    headers: { "X-CSRF-Token": csrf ?? "" },
    json: { email, password },
  });
  if (response.status === 200)
    client.csrf = ((await response.clone().json()) as { csrfToken: string }).csrfToken;
  return response;
}

/**
 * A developer who signed up through the portal and is logged in; with `verified` (the default) they also
 * opened the verification link from the mail stand-in's outbox, so keys and plans are open to them.
 */
export async function portalDeveloper(options: { verified?: boolean } = {}) {
  const client = portalClient();
  const email = uniqueEmail();
  const signedUp = await portalSignUp(client, email);
  if (signedUp.status !== 202) throw new Error(`sign-up: ${signedUp.status} ${await signedUp.text()}`);
  const login = await portalLogin(client, email);
  if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
  const { account } = (await login.json()) as { account: { id: string; email: string; tier: string } };
  if (options.verified ?? true) {
    const token = tokenFromLink(await linkInMail(email, "/portal/verify"));
    const verified = await portalApi(client, "/email/verify", { method: "POST", json: { token } });
    if (verified.status !== 200) throw new Error(`verify: ${verified.status} ${await verified.text()}`);
  }
  return { client, email, accountId: account.id };
}

// ---------------------------------------------------------------------------------------------------------
// Mail (test/worker/portal-accounts*.test.ts): the Resend stand-in's record of what the worker sent.
// ---------------------------------------------------------------------------------------------------------

export interface SentEmail {
  id: string;
  from: string;
  to: string[];
  subject: string;
  html: string | null;
  text: string | null;
  tags: Array<{ name: string; value: string }> | null;
  idempotency_key: string | null;
}

/** Every message the mail stand-in accepted for `to`, oldest first. */
export async function mailsTo(to: string): Promise<SentEmail[]> {
  const response = await fetch(`${env.RESEND_API_BASE}/__standin/emails?to=${encodeURIComponent(to)}`);
  return ((await response.json()) as { emails: SentEmail[] }).emails;
}

/**
 * Waits until `to` has at least `count` messages (mails sent after the response, e.g. password resets,
 * arrive a moment later) and returns them. Polls; the deadline is generous so a busy machine does not fail it.
 */
export async function waitForMails(to: string, count = 1, timeoutMs = 15_000): Promise<SentEmail[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = await mailsTo(to);
    if (mails.length >= count) return mails;
    if (Date.now() > deadline) throw new Error(`${to} got ${mails.length} mails, expected ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The newest link to `path` (e.g. /portal/verify) in the newest mail to `to` that has one. */
export async function linkInMail(to: string, path: string, count = 1): Promise<string> {
  const mails = await waitForMails(to, count);
  for (const mail of [...mails].reverse()) {
    const match = new RegExp(`https?://[^\\s"<>]+${path}\\?token=[A-Za-z0-9_%-]+`).exec(mail.text ?? "");
    if (match) return match[0];
  }
  throw new Error(`no ${path} link in the mails to ${to}`);
}

export const tokenFromLink = (link: string) => new URL(link).searchParams.get("token") ?? "";

/** A signed-in JSON API call with the client's CSRF token. */
export function portalApi(
  client: PortalClient,
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (client.csrf && !headers.has("X-CSRF-Token")) headers.set("X-CSRF-Token", client.csrf);
  return client.fetch(`/portal/api${path}`, { ...init, headers });
}

/** A page's form post, with the CSRF field the page rendered. */
export function portalForm(
  client: PortalClient,
  path: string,
  form: Record<string, string>,
): Promise<Response> {
  return client.fetch(path, { method: "POST", form: { _csrf: client.csrf ?? "", ...form } });
}
