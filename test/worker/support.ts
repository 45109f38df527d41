import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { Redis } from "@upstash/redis/cloudflare";
import type { Bindings } from "../../src/config";
import worker from "../../src/index";

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
