import { env, exports } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../src/lib/context";
import { requestContext } from "../../src/middleware/request-context";
import { BASE, gatewayWith } from "./support";

const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`http://gateway.test${path}`, init));

describe("health", () => {
  it("answers liveness without touching a dependency", async () => {
    const response = await call("/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
    expect(response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("reports ready when Redis (through the Upstash bridge) and Postgres (through the Neon proxy) answer", async () => {
    const response = await call("/health/ready");
    const body = (await response.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.checks.redis?.ok).toBe(true);
    expect(body.checks.postgres?.ok).toBe(true);
    expect(response.status).toBe(200);
    expect(body.status).toBe("ok");
  });

  it("keeps a well-formed caller request id and replaces a malformed one", async () => {
    const kept = await call("/health", { headers: { "X-Request-Id": "trace-abc-12345" } });
    expect(kept.headers.get("X-Request-Id")).toBe("trace-abc-12345");
    const replaced = await call("/health", { headers: { "X-Request-Id": "bad id\twith spaces" } });
    // A fresh UUID in its place (not a substring test: a random UUID can contain "bad", as hex).
    expect(replaced.headers.get("X-Request-Id")).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe("the request id on a response whose headers cannot change", () => {
  it("is still set (the response is copied only then)", async () => {
    // Response.redirect's headers are immutable (Fetch standard), like those of a fetch() response.
    const app = new Hono<AppEnv>()
      .use(requestContext())
      .get("/moved", () => Response.redirect(`${BASE}/health`, 302));
    const response = await app.fetch(
      new Request(`${BASE}/moved`, { headers: { "X-Request-Id": "trace-moved-1" } }),
      env,
    );
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe(`${BASE}/health`);
    expect(response.headers.get("X-Request-Id")).toBe("trace-moved-1");
  });
});

describe("unknown routes", () => {
  it("answer 404 problem+json with the request id", async () => {
    const response = await call("/nope");
    expect(response.status).toBe(404);
    expect(response.headers.get("Content-Type")).toBe("application/problem+json");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: "/problems/not-found",
      title: "Not found",
      status: 404,
      instance: "/nope",
    });
    expect(body.requestId).toBe(response.headers.get("X-Request-Id"));
  });
});

describe("readiness when a dependency fails", () => {
  it("answers 503 naming the dependency that failed", async () => {
    const response = await gatewayWith({ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" }, "/health/ready");
    expect(response.status).toBe(503);
    const body = (await response.json()) as {
      status: string;
      checks: Record<string, { ok: boolean; error?: string }>;
    };
    expect(body.status).toBe("degraded");
    expect(body.checks.redis?.ok).toBe(false);
    expect(body.checks.redis?.error).toBeTruthy();
    expect(body.checks.postgres?.ok).toBe(true);
  });
});
