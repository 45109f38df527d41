import { beforeAll, describe, expect, it } from "vitest";
import { accountWithKey, gateway, gatewayWith, problemOf, withKey } from "./support";

/** Issue 18, items 2 and 6: what the data plane takes a request to mean. */
let key: string;
let other: string;
beforeAll(async () => {
  key = (await accountWithKey("pro")).key;
  other = (await accountWithKey("pro")).key;
});

describe("ambiguous credentials (issue 18.6)", () => {
  it("two different keys (X-API-Key and Authorization: Bearer) are a 400, not the first one", async () => {
    const response = await gateway("/v1/echo", {
      headers: { "X-API-Key": key, Authorization: `Bearer ${other}` },
    });
    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem.detail).toMatch(/more than one API key/);
    expect(problem.requestId).toEqual(expect.any(String));
    // Nothing was spent on either key: no limit check ran.
    expect(response.headers.get("RateLimit")).toBeNull();
  });

  it("a repeated X-API-Key field is ambiguous too, even with the same key twice", async () => {
    const headers = new Headers();
    headers.append("X-API-Key", key);
    headers.append("X-API-Key", other);
    expect((await gateway("/v1/echo", { headers })).status).toBe(400);
  });

  it("the same key in both headers is one credential and is accepted", async () => {
    const response = await gateway("/v1/echo", {
      headers: { "X-API-Key": key, Authorization: `Bearer ${key}` },
    });
    expect(response.status).toBe(200);
  });

  it("a non-Bearer Authorization beside X-API-Key is not a second key", async () => {
    const response = await gateway("/v1/echo", {
      headers: { "X-API-Key": key, Authorization: "Basic dXNlcjpwYXNz" },
    });
    expect(response.status).toBe(200);
  });
});

describe("OPTIONS that is not a CORS preflight (issue 18.2)", () => {
  const cors = { CORS_ORIGINS: "https://app.example" };

  it("without Origin it is an API request: no key, 401; with a key it reaches the origin", async () => {
    const keyless = await gatewayWith(cors, "/v1/echo", { method: "OPTIONS" });
    expect(keyless.status).toBe(401);
    expect(keyless.headers.get("Access-Control-Allow-Methods")).toBeNull();

    const keyed = await gatewayWith(cors, "/v1/echo", withKey(key, { method: "OPTIONS" }));
    // The demo origin has no OPTIONS route: its own plain 404, not the gateway's 204 or problem+json.
    expect(keyed.status).toBe(404);
    expect(keyed.headers.get("Content-Type") ?? "").not.toContain("problem+json");
    expect(keyed.headers.get("RateLimit")).not.toBeNull();
  });

  it("with Origin but no Access-Control-Request-Method it is an API request with CORS response headers", async () => {
    const keyless = await gatewayWith(cors, "/v1/echo", {
      method: "OPTIONS",
      headers: { Origin: "https://app.example" },
    });
    expect(keyless.status).toBe(401);
    expect(keyless.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example");
    const keyed = await gatewayWith(
      cors,
      "/v1/echo",
      withKey(key, { method: "OPTIONS", headers: { Origin: "https://app.example" } }),
    );
    expect(keyed.status).toBe(404);
    expect(keyed.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example");
  });

  it("a real preflight is still answered by the gateway, without a key", async () => {
    const preflight = await gatewayWith(cors, "/v1/echo", {
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example");
  });
});
