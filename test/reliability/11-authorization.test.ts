import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { accountWithKeys, call, type TestKey } from "./harness/client.ts";
import { env } from "./harness/environment.ts";
import { measure, verify, violation, violationMark, violationsSince } from "./harness/figures.ts";
import { fuzz } from "./harness/fuzz.ts";
import { header, jsonOf } from "./harness/observed.ts";
import { auditMark, auditOrigin } from "./harness/origin-audit.ts";

const { a, b } = env.gateways;
const area = "authorization";
let x: TestKey;
let y: TestKey;
/** Every admin route (from the admin API's own OpenAPI document), with real ids in its path. */
let adminRoutes: Array<{ method: string; path: string }> = [];

beforeAll(async () => {
  [x] = (await accountWithKeys("pro")) as [TestKey];
  [y] = (await accountWithKeys("pro")) as [TestKey];
  const document = await call(a, "/admin/v1/openapi.json", { asAdmin: true, area: "setup" });
  const paths = (jsonOf(document) as { paths: Record<string, Record<string, unknown>> }).paths;
  adminRoutes = Object.entries(paths).flatMap(([template, methods]) =>
    Object.keys(methods).map((method) => ({
      method: method.toUpperCase(),
      path: `/admin/v1${template.replace(/\{[^}]+\}/g, () => (template.startsWith("/keys") ? y.keyId : y.accountId))}`,
    })),
  );
  adminRoutes.push({ method: "GET", path: "/admin/v1/openapi.json" });
});

const bodyFor = (method: string) =>
  method === "GET" || method === "DELETE"
    ? undefined
    : JSON.stringify({ tier: "pro", email: "z@example.com" });

/** Credentials that must never open the admin API. */
function badCredentials(): Array<[string, Record<string, string>]> {
  const token = env.adminToken;
  return [
    ["none", {}],
    ["an API key as Bearer", { Authorization: `Bearer ${y.key}` }],
    ["an API key in X-API-Key", { "X-API-Key": y.key }],
    ["the token minus its last character", { Authorization: `Bearer ${token.slice(0, -1)}` }],
    ["the token plus a character", { Authorization: `Bearer ${token}x` }],
    ["the token upper-cased", { Authorization: `Bearer ${token.toUpperCase()}` }],
    [
      "the token as Basic credentials",
      { Authorization: `Basic ${Buffer.from(`admin:${token}`).toString("base64")}` },
    ],
    ["the token without a scheme", { Authorization: token }],
    ["the token twice", { Authorization: `Bearer ${token} ${token}` }],
    ["the token in a cookie", { Cookie: `token=${token}; admin_token=${token}` }],
    ["an empty bearer", { Authorization: "Bearer " }],
  ];
}

describe("authorization: the admin API", () => {
  it("refuses missing, wrong and API-key credentials on every route with 401 problem+json, and changes nothing", async () => {
    const mark = violationMark();
    expect(adminRoutes.length).toBeGreaterThan(8);
    for (const { method, path } of adminRoutes) {
      for (const [what, headers] of badCredentials()) {
        const answer = await call(a, path, {
          method,
          headers: { ...headers, "Content-Type": "application/json" },
          body: bodyFor(method),
          area,
        });
        verify(
          answer.status === 401 && header(answer, "www-authenticate") !== null,
          area,
          () => `${method} ${path} with ${what}: ${answer.status}, want 401 with WWW-Authenticate`,
        );
      }
    }
    measure("admin routes x bad credentials refused", `${adminRoutes.length} x ${badCredentials().length}`);
    // Nothing the refused requests asked for happened.
    const account = jsonOf<{ tier: string }>(
      await call(a, `/admin/v1/accounts/${y.accountId}`, { asAdmin: true, area }),
    );
    verify(account.tier === "pro", area, () => `y's tier is now ${account.tier}`);
    const keys = jsonOf<{ keys: unknown[] }>(
      await call(a, `/admin/v1/accounts/${y.accountId}/keys`, { asAdmin: true, area }),
    );
    verify(keys.keys.length === 1, area, () => `y has ${keys.keys.length} keys, want its 1`);
    verify(
      (await call(a, "/v1/hello", { apiKey: y.key, area })).status === 200,
      area,
      () => "y's key stopped working",
    );
    expect(violationsSince(mark)).toEqual([]);
  });

  it("id guessing without the token: 401 for real and made-up ids alike, bodies that tell nothing apart", async () => {
    const mark = violationMark();
    const bodies = new Set<string>();
    const id = fc.oneof(
      fc.constantFrom(x.accountId, y.accountId, x.keyId, y.keyId),
      fc.stringMatching(/^(acct|key)_[A-Za-z0-9]{20}$/),
    );
    await fuzz(
      "admin: ids without the token",
      fc.tuple(
        fc.nat(adminRoutes.length - 1),
        id,
        fc.constantFrom("", "Bearer wrong-token-0123456789abcdef", `Bearer ${x.key}`),
      ),
      async ([route, guess, authorization]) => {
        const { method, path } = adminRoutes[route] as { method: string; path: string };
        const target = path.replace(y.accountId, guess).replace(y.keyId, guess);
        const headers: Record<string, string> = { "Content-Type": "application/json" };
        if (authorization) headers.Authorization = authorization;
        const answer = await call(b, target, { method, headers, body: bodyFor(method), area });
        if (answer.status !== 401) return [`${method} ${target}: ${answer.status}, want 401`];
        const { requestId: _id, instance: _path, ...rest } = jsonOf(answer);
        bodies.add(JSON.stringify(rest));
        return [];
      },
      { numRuns: 200 },
    );
    verify(bodies.size === 1, area, () => `${bodies.size} different 401 bodies: ${[...bodies].join(" | ")}`);
    expect(violationsSince(mark)).toEqual([]);
  });
});

describe("authorization: the data plane", () => {
  it("a key only ever acts as its own account: spoofed identity headers, other accounts' ids; two different keys at once are refused (400)", async () => {
    const mark = violationMark();
    const origin = await auditMark();
    /** Request id -> the identity the origin must see for it. */
    const expected = new Map<string, { accountId: string; keyId: string }>();
    const spoof = fc.subarray([
      "X-Gateway-Account",
      "X-Gateway-Key-Id",
      "X-Gateway-Tier",
      "X-Gateway-Signature",
      "Forwarded",
      "X-Forwarded-For",
      "X-Forwarded-Host",
      "Cookie",
    ]);
    await fuzz(
      "cross-account",
      fc.record({
        self: fc.constantFrom("x", "y"),
        placement: fc.constantFrom("x-api-key", "bearer", "x-api-key + other's bearer"),
        spoofed: spoof,
        path: fc.constantFrom(
          "/v1/echo",
          "/v1/echo?account={other}",
          "/v1/items/{other}",
          "/v1/echo?X-Gateway-Account={other}",
        ),
        base: fc.constantFrom(a, b),
      }),
      async ({ self, placement, spoofed, path, base }) => {
        const me = self === "x" ? x : y;
        const other = self === "x" ? y : x;
        const requestId = `rel-${randomUUID()}`;
        const headers: Record<string, string> = { "X-Request-Id": requestId };
        if (placement === "bearer") headers.Authorization = `Bearer ${me.key}`;
        else headers["X-API-Key"] = me.key;
        if (placement === "x-api-key + other's bearer") headers.Authorization = `Bearer ${other.key}`;
        const forged: Record<string, string> = {
          "X-Gateway-Account": other.accountId,
          "X-Gateway-Key-Id": other.keyId,
          "X-Gateway-Tier": "pro",
          "X-Gateway-Signature": `t=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}`,
          Forwarded: `for=10.0.0.1;host=${other.accountId}`,
          "X-Forwarded-For": "10.0.0.1",
          "X-Forwarded-Host": "other.example",
          Cookie: `gw_session=${other.accountId}; account=${other.accountId}`,
        };
        for (const name of spoofed) headers[name] = forged[name] as string;
        expected.set(requestId, { accountId: me.accountId, keyId: me.keyId });
        const answer = await call(base, path.replaceAll("{other}", other.accountId), { headers, area });
        const broken: string[] = [];
        if (placement === "x-api-key + other's bearer") {
          // Two different keys are ambiguous credentials: refused outright, never acted on as either.
          if (answer.status !== 400) broken.push(`two keys: ${answer.status}, want 400`);
          return broken;
        }
        if (answer.status === 200 && path.startsWith("/v1/echo")) {
          const seen = jsonOf<{ headers: Record<string, string> }>(answer).headers;
          if (seen["x-gateway-account"] !== me.accountId)
            broken.push(`the origin saw account ${seen["x-gateway-account"]}`);
          if (seen.cookie?.includes("gw_session"))
            broken.push("the portal's session cookie reached the origin");
        } else if (answer.status !== 200 && answer.status !== 404) {
          broken.push(`${answer.status} ${answer.text.slice(0, 100)}`);
        }
        return broken;
      },
      { numRuns: 200 },
    );
    const audit = await auditOrigin(origin, (record) => {
      const id = record.headers.find(([name]) => name === "x-request-id")?.[1];
      return id ? expected.get(id) : undefined;
    });
    for (const broken of audit.broken) violation("authorization: data plane (origin)", broken);
    measure("cross-account: requests checked at the origin", audit.records);
    expect(violationsSince(mark)).toEqual([]);
  });
});
