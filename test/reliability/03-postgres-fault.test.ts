import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/keys/key-format.ts";
import { accountWithKeys, call, type TestKey } from "./harness/client.ts";
import { startService, stopService } from "./harness/control.ts";
import { env } from "./harness/environment.ts";
import { measure, verify, violationMark, violationsSince } from "./harness/figures.ts";
import { header, type Observed } from "./harness/observed.ts";
import { startTraffic, statusCounts, type Traffic, timeUntil } from "./harness/traffic.ts";

const { a, b } = env.gateways;
const area = "faults: postgres";
afterAll(async () => {
  await traffic?.stop();
  await startService("postgres").catch(() => {});
});

const hello = (base: string, key: string) => call(base, "/v1/hello", { apiKey: key, area });

/** An admin call while Postgres is away: a 5xx problem+json (a 500 is allowed here), nothing issued. */
function verifyAdminRefused(answer: Observed, what: string): void {
  verify(
    answer.status >= 500 && header(answer, "content-type") === "application/problem+json",
    area,
    () =>
      `${what}: ${answer.status} ${header(answer, "content-type")} ${answer.text.slice(0, 160)}; want a 5xx problem+json`,
  );
  verify(!answer.text.includes('"key"'), area, () => `${what}: a key in the refusal: ${answer.text}`);
}

let cached: TestKey;
let redisOnly: TestKey;
let traffic: Traffic | undefined;

describe("faults: Postgres unreachable (the Neon proxy, the worker's only way to it, closed)", () => {
  beforeAll(async () => {
    [cached, redisOnly] = (await accountWithKeys("pro", 2)) as [TestKey, TestKey];
    expect((await hello(a, cached.key)).status).toBe(200);
    traffic = startTraffic({ a: { base: a, key: cached.key } });
    await stopService("postgres");
  });

  it("the hot path keeps serving keys known to isolate memory or Redis; an unknown key gets 503", async () => {
    const mark = violationMark();
    const known = await hello(a, cached.key);
    verify(
      known.status === 200 && header(known, "ratelimit") !== null,
      area,
      () => `cached key: ${known.status}`,
    );
    // Never used on b: its record comes from Redis, no Postgres needed.
    const fromRedis = await hello(b, redisOnly.key);
    verify(
      fromRedis.status === 200,
      area,
      () => `key known to Redis only: ${fromRedis.status} ${fromRedis.text}`,
    );
    // A key Redis does not know cannot be verified: refused with 503 (fail closed), never admitted.
    const unverifiable = await hello(a, generateApiKey("test"));
    verify(
      unverifiable.status === 503 && Number(header(unverifiable, "retry-after")) > 0,
      area,
      () => `unknown key with Postgres down: ${unverifiable.status}, want 503 with Retry-After`,
    );
    const ready = await call(a, "/health/ready", { area });
    verify(ready.status === 503, area, () => `/health/ready: ${ready.status}, want 503 degraded`);
    expect(violationsSince(mark)).toEqual([]);
  });

  it("issuing a key answers a 5xx problem+json and issues nothing", async () => {
    const mark = violationMark();
    const issue = await call(a, `/admin/v1/accounts/${cached.accountId}/keys`, {
      method: "POST",
      asAdmin: true,
      json: { name: "during the outage" },
      allow500: true,
      area,
    });
    measure(
      "postgres outage: POST /admin/v1/accounts/{id}/keys",
      `${issue.status} ${issue.text.slice(0, 120)}`,
    );
    verifyAdminRefused(issue, "POST /admin/v1/accounts/{id}/keys");
    expect(violationsSince(mark)).toEqual([]);
  });

  it("admin writes that run a transaction (create account, change tier, revoke key) answer a 5xx problem+json, not the runtime's uncaught-exception 500", async () => {
    const mark = violationMark();
    const writes: Array<[string, string, Parameters<typeof call>[2]]> = [
      [
        "POST /admin/v1/accounts",
        "/admin/v1/accounts",
        { method: "POST", json: { email: `outage-${Date.now()}@example.com` } },
      ],
      [
        "PATCH /admin/v1/accounts/{id}",
        `/admin/v1/accounts/${cached.accountId}`,
        { method: "PATCH", json: { tier: "basic" } },
      ],
      ["DELETE /admin/v1/keys/{id}", `/admin/v1/keys/${redisOnly.keyId}`, { method: "DELETE" }],
    ];
    for (const [name, path, init] of writes) {
      const answer = await call(a, path, { ...init, asAdmin: true, allow500: true, area });
      measure(
        `postgres outage: ${name}`,
        `${answer.status} ${header(answer, "content-type")} ${answer.text.slice(0, 80)}`,
      );
      verifyAdminRefused(answer, name);
    }
    expect(violationsSince(mark)).toEqual([]);
  });

  it("once Postgres is back, keys are issued and work on every process, nothing restarted", async () => {
    const mark = violationMark();
    await startService("postgres");
    const recoveredMs = await timeUntil(async () => {
      const attempt = await call(a, `/admin/v1/accounts/${cached.accountId}/keys`, {
        method: "POST",
        asAdmin: true,
        json: { name: "after the outage" },
        allow500: true,
        area,
      });
      if (attempt.status !== 201) return false;
      const { key } = JSON.parse(attempt.text) as { key: string };
      return (await hello(b, key)).status === 200;
    });
    measure("postgres outage: key issuing back after (ms)", recoveredMs ?? "not within 20 s");
    verify(recoveredMs !== undefined, area, () => "key issuing did not recover within 20 s");

    const answers = (await traffic?.stop())?.a ?? [];
    measure("postgres outage: background traffic on a cached key", JSON.stringify(statusCounts(answers)));
    verify(
      answers.every((x) => x.status === 200),
      area,
      () => `traffic: ${JSON.stringify(statusCounts(answers))}`,
    );
    expect(violationsSince(mark)).toEqual([]);
  });
});
