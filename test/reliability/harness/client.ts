import { env } from "./environment.ts";
import { countRequest, violation } from "./figures.ts";
import type { Observed } from "./observed.ts";
import { type OracleOptions, oracle } from "./oracle.ts";
import { rememberIssuedKey } from "./secrets.ts";

export interface CallOptions extends RequestInit, Omit<OracleOptions, "target" | "issuesKey"> {
  /** Sent as X-API-Key. */
  apiKey?: string;
  /** Sends Authorization: Bearer ADMIN_TOKEN. */
  asAdmin?: boolean;
  /** Serialised as the JSON body. */
  json?: unknown;
  /** Client-side deadline; default 15 s (every request of the suite is bounded). */
  timeoutMs?: number;
  /** For violation messages. */
  area?: string;
}

/**
 * Every HTTP call of the suite to a gateway: counted, bounded in time, and checked against the oracle (no
 * 500, no stack trace, no secret, problem+json errors). Keys issued in the answer join the secrets.
 */
export async function call(base: string, path: string, options: CallOptions = {}): Promise<Observed> {
  const { apiKey, asAdmin, json, timeoutMs = 15_000, allow500, area = "http", ...init } = options;
  const headers = new Headers(init.headers);
  if (apiKey) headers.set("X-API-Key", apiKey);
  if (asAdmin) headers.set("Authorization", `Bearer ${env.adminToken}`);
  if (json !== undefined) headers.set("Content-Type", "application/json");
  countRequest();
  const started = performance.now();
  const response = await fetch(`${base}${path}`, {
    ...init,
    headers,
    body: json !== undefined ? JSON.stringify(json) : init.body,
    redirect: "manual",
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  const observed: Observed = {
    status: response.status,
    headers: [...response.headers].map(([name, value]) => [name.toLowerCase(), value]),
    text,
    elapsedMs: performance.now() - started,
  };
  const issuesKey = issuedKeyOf(path, observed);
  if (issuesKey) rememberIssuedKey(issuesKey);
  for (const broken of oracle(observed, {
    target: path,
    allow500,
    issuesKey: !!issuesKey,
    method: init.method,
  })) {
    violation(area, `${init.method ?? "GET"} ${path.slice(0, 120)} -> ${observed.status}: ${broken}`);
  }
  return observed;
}

/** The plaintext key in a 201 of the admin API's key-issuing routes (create, rotate). */
function issuedKeyOf(path: string, observed: Observed): string | undefined {
  if (observed.status !== 201 || !/^\/admin\/v1\/(accounts\/[^/]+\/keys|keys\/[^/]+\/rotate)/.test(path))
    return undefined;
  try {
    const key = (JSON.parse(observed.text) as { key?: unknown }).key;
    return typeof key === "string" ? key : undefined;
  } catch {
    return undefined;
  }
}

let emails = 0;

export interface TestKey {
  accountId: string;
  keyId: string;
  key: string;
}

/** An account of `tier` with `keys` fresh keys, through the admin API of gateway `base`. */
export async function accountWithKeys(
  tier: "free" | "basic" | "pro",
  keys = 1,
  base = env.gateways.a,
): Promise<TestKey[]> {
  emails += 1;
  const email = `rel-${Date.now()}-${process.pid}-${emails}@example.com`;
  const account = await call(base, "/admin/v1/accounts", {
    method: "POST",
    asAdmin: true,
    json: { email, tier },
    area: "setup",
  });
  if (account.status !== 201) throw new Error(`account creation: ${account.status} ${account.text}`);
  const accountId = (JSON.parse(account.text) as { id: string }).id;
  const issued: TestKey[] = [];
  for (let i = 0; i < keys; i++) issued.push(await issueKey(accountId, base));
  return issued;
}

export async function issueKey(accountId: string, base = env.gateways.a): Promise<TestKey> {
  const response = await call(base, `/admin/v1/accounts/${accountId}/keys`, {
    method: "POST",
    asAdmin: true,
    json: { name: "reliability" },
    area: "setup",
  });
  if (response.status !== 201) throw new Error(`key creation: ${response.status} ${response.text}`);
  const body = JSON.parse(response.text) as { id: string; key: string };
  return { accountId, keyId: body.id, key: body.key };
}
