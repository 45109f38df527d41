import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { gatewayWith } from "./support";

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
