import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { canonicalString } from "../../src/gateway/origin-signature";
import { accountWithKey, gateway, gatewayWith, problemOf, withKey } from "./support";

interface Echo {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
}

let key: string;
let accountId: string;
let keyId: string;
beforeAll(async () => {
  const created = await accountWithKey("pro");
  key = created.key;
  accountId = created.account.id;
  keyId = created.keyId;
});

async function echo(path: string, init: RequestInit = {}): Promise<Echo> {
  const response = await gateway(path, withKey(key, init));
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Echo;
}

async function hmacHex(secret: string, text: string): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", cryptoKey, new TextEncoder().encode(text));
  return [...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

describe("proxy: what passes through", () => {
  it("passes method, path, query and body unchanged", async () => {
    const seen = await echo("/v1/echo?b=2&a=%20x&a=y", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ hello: "world" }),
    });
    expect(seen).toMatchObject({
      method: "POST",
      path: "/v1/echo",
      query: "?b=2&a=%20x&a=y",
      body: '{"hello":"world"}',
    });
    expect(seen.headers["content-type"]).toBe("application/json");
  });

  it("streams a large body through", async () => {
    const body = "x".repeat(2 * 1024 * 1024);
    const seen = await echo("/v1/echo", { method: "PUT", body });
    expect(seen.body.length).toBe(body.length);
  });

  it("strips the key, hop-by-hop headers, the portal's cookies and spoofed identity headers", async () => {
    const seen = await echo("/v1/echo", {
      headers: {
        Authorization: "Bearer something-else",
        Connection: "keep-alive, X-Secret-Hop",
        "X-Secret-Hop": "1",
        "Proxy-Authorization": "Basic abc",
        Cookie: "gw_session=portal-secret; theme=dark; __Host-gw_csrf=csrf-secret",
        "X-Gateway-Account": "acct_spoofed",
        "X-Forwarded-For": "6.6.6.6",
        "X-Custom": "kept",
      },
    });
    const forwarded = JSON.stringify(seen.headers);
    expect(forwarded).not.toContain(key);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers["x-api-key"]).toBeUndefined();
    expect(seen.headers["x-secret-hop"]).toBeUndefined();
    expect(seen.headers["proxy-authorization"]).toBeUndefined();
    expect(seen.headers.cookie).toBe("theme=dark");
    expect(seen.headers["x-gateway-account"]).toBe(accountId);
    expect(seen.headers["x-forwarded-for"]).not.toBe("6.6.6.6");
    expect(seen.headers["x-custom"]).toBe("kept");
  });

  it("adds forwarding, request id and identity headers with a signature the origin can verify", async () => {
    const response = await gateway(
      "/v1/echo?q=1",
      withKey(key, { headers: { "CF-Connecting-IP": "203.0.113.7" } }),
    );
    const seen = (await response.json()) as Echo;
    expect(seen.headers).toMatchObject({
      "x-forwarded-for": "203.0.113.7",
      "x-real-ip": "203.0.113.7",
      "x-forwarded-proto": "http",
      "x-forwarded-host": "gateway.test",
      "x-request-id": response.headers.get("X-Request-Id"),
      "x-gateway-account": accountId,
      "x-gateway-key-id": keyId,
      "x-gateway-tier": "pro",
    });
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(seen.headers["x-gateway-signature"] ?? "");
    expect(match).not.toBeNull();
    const [, timestamp, signature] = match as RegExpExecArray;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(5);
    const expected = await hmacHex(
      env.ORIGIN_SHARED_SECRET as string,
      canonicalString(Number(timestamp), {
        method: "GET",
        pathWithQuery: "/v1/echo?q=1",
        requestId: response.headers.get("X-Request-Id") as string,
        accountId,
        keyId,
        tier: "pro",
      }),
    );
    expect(signature).toBe(expected);
  });

  it("passes redirects back instead of following them", async () => {
    const response = await gateway(
      "/v1/redirect?to=https://elsewhere.example/x",
      withKey(key, { redirect: "manual" }),
    );
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("https://elsewhere.example/x");
  });
});

describe("proxy: security", () => {
  it("reaches only the origin, whatever the path", async () => {
    const tricks = [
      "//evil.example/v1/echo",
      "/v1//evil.example/echo",
      "/v1/echo/..%2f..%2fadmin",
      "/v1/%2e%2e/v1/echo",
    ];
    for (const path of tricks) {
      const response = await gateway(path, withKey(key, { headers: { Host: "evil.example" } }));
      // Either the origin answered (its own 404 or the echo) or the gateway refused: never another host.
      expect([200, 404], path).toContain(response.status);
      if (response.status === 200) {
        const seen = (await response.json()) as Echo;
        expect(seen.headers.host).toBe(new URL(env.ORIGIN_URL as string).host);
      }
    }
  });

  it("answers unknown paths outside the API prefixes with 404 problem+json", async () => {
    const response = await gateway("/v2/hello", withKey(key));
    expect(response.status).toBe(404);
    expect(await problemOf(response)).toMatchObject({ status: 404 });
  });
});

describe("proxy: origin failures", () => {
  it("answers 504 when the origin is slower than ORIGIN_TIMEOUT_MS", async () => {
    const response = await gatewayWith({ ORIGIN_TIMEOUT_MS: "200" }, "/v1/slow?ms=2000", withKey(key));
    expect(response.status).toBe(504);
    expect(await problemOf(response)).toMatchObject({ type: "/problems/origin-timeout" });
  });

  it("gives ORIGIN_TIMEOUT_MS to the origin's headers only: a body streamed for longer arrives whole", async () => {
    const response = await gatewayWith({ ORIGIN_TIMEOUT_MS: "200" }, "/v1/drip?ms=800", withKey(key));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("chunk 0\nchunk 1\nchunk 2\nchunk 3\n");
  });

  it("answers 502 when the origin cannot be reached", async () => {
    const response = await gatewayWith({ ORIGIN_URL: "http://127.0.0.1:9" }, "/v1/hello", withKey(key));
    expect(response.status).toBe(502);
    expect(await problemOf(response)).toMatchObject({ type: "/problems/origin-unreachable" });
  });
});

describe("proxy: CORS", () => {
  it("sends CORS headers only to CORS_ORIGINS", async () => {
    const cors = { CORS_ORIGINS: "https://app.example" };
    const allowed = await gatewayWith(
      cors,
      "/v1/hello",
      withKey(key, { headers: { Origin: "https://app.example" } }),
    );
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example");
    expect(allowed.headers.get("Access-Control-Expose-Headers")).toContain("RateLimit");
    const other = await gatewayWith(
      cors,
      "/v1/hello",
      withKey(key, { headers: { Origin: "https://evil.example" } }),
    );
    expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const preflight = await gatewayWith(cors, "/v1/hello", {
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "GET" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Headers")).toContain("X-API-Key");
  });
});

describe("proxy: body size", () => {
  const small = { MAX_BODY_BYTES: "2048" };

  it("refuses a declared body over MAX_BODY_BYTES with 413 before spending any limit", async () => {
    const response = await gatewayWith(
      small,
      "/v1/echo",
      withKey(key, { method: "POST", body: "x".repeat(4096), headers: { "Content-Length": "4096" } }),
    );
    expect(response.status).toBe(413);
    expect(await problemOf(response)).toMatchObject({ type: "/problems/payload-too-large" });
    expect(response.headers.get("RateLimit")).toBeNull();
    const fits = await gatewayWith(
      small,
      "/v1/echo",
      withKey(key, { method: "POST", body: "x".repeat(1024) }),
    );
    expect(fits.status).toBe(200);
  });

  it("refuses a streamed body of undeclared length once it grows past the limit", async () => {
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new TextEncoder().encode("y".repeat(1024)));
        controller.close();
      },
    });
    const response = await gatewayWith(small, "/v1/echo", withKey(key, { method: "POST", body: chunks }));
    expect(response.status).toBe(413);
  });
});

describe("proxy: methods", () => {
  it("does not forward TRACE", async () => {
    const response = await gateway("/v1/echo", withKey(key, { method: "TRACE" }));
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toContain("GET");
  });

  it("answers HEAD without a body, proxied or refused, headers kept", async () => {
    const proxied = await gateway("/v1/echo", withKey(key, { method: "HEAD" }));
    expect(proxied.status).toBe(200);
    expect(proxied.headers.get("RateLimit")).toMatch(/r=\d+/);
    expect(proxied.headers.get("X-Request-Id")).toBeTruthy();
    expect(await proxied.text()).toBe("");

    const refused = await gateway("/v1/echo", { method: "HEAD" });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("Content-Type")).toBe("application/problem+json");
    expect(refused.headers.get("WWW-Authenticate")).toContain("Bearer");
    expect(refused.headers.get("X-Request-Id")).toBeTruthy();
    expect(await refused.text()).toBe("");
  });
});
