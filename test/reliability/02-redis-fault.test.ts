import { afterAll, describe, expect, it } from "vitest";
import { LEASE_MS } from "../../src/gateway/lease-life.ts";
import { generateApiKey } from "../../src/keys/key-format.ts";
import { accountWithKeys, call } from "./harness/client.ts";
import { startService, stopService } from "./harness/control.ts";
import { env } from "./harness/environment.ts";
import { measure, verify, violationMark, violationsSince } from "./harness/figures.ts";
import { header, type Observed } from "./harness/observed.ts";
import { startTraffic, statusCounts, timeUntil } from "./harness/traffic.ts";

const { a, closed } = env.gateways;
const area = "faults: redis";
// Whatever a test does, the next file gets its services back.
afterAll(async () => {
  await startService("postgres").catch(() => {});
  await startService("redis").catch(() => {});
});

const hello = (base: string, key: string) => call(base, "/v1/hello", { apiKey: key, area });

function expectAdmitted(answer: Observed, what: string, limiterWorking: boolean): void {
  verify(
    answer.status === 200,
    area,
    () => `${what}: ${answer.status} ${answer.text.slice(0, 200)}, want 200`,
  );
  // Redis's limiter reports the month's quota too; the isolate's fallback count (fail-open) only its window.
  const state = header(answer, "ratelimit");
  const fromRedis = state?.includes('"month"') ?? false;
  const fromIsolate = state !== null && !fromRedis;
  verify(
    limiterWorking ? fromRedis : fromIsolate,
    area,
    () =>
      `${what}: RateLimit ${state ?? "missing"}, want ${limiterWorking ? "Redis's (with the month)" : "the isolate's own count (no month)"}`,
  );
}

function expectUnavailable(answer: Observed, what: string): void {
  verify(
    answer.status === 503 && Number(header(answer, "retry-after")) > 0,
    area,
    () => `${what}: ${answer.status} Retry-After=${header(answer, "retry-after")}, want 503 with Retry-After`,
  );
}

describe("faults: Redis stopped mid-run", () => {
  it("cached keys: admitted under fail-open, 503 under fail-closed; uncached keys: Postgres answers, or 503 when it is down too; never a 500; recovers by itself", async () => {
    const mark = violationMark();
    const [cached, uncachedOpen, uncachedClosed, uncachedNoStores, revoked] = await accountWithKeys("pro", 5);
    if (!cached || !uncachedOpen || !uncachedClosed || !uncachedNoStores || !revoked) throw new Error("keys");
    for (const base of [a, closed]) {
      expectAdmitted(await hello(base, cached.key), "warm-up", true);
      expect((await hello(base, revoked.key)).status).toBe(200);
    }
    const revocation = await call(a, `/admin/v1/keys/${revoked.keyId}`, {
      method: "DELETE",
      asAdmin: true,
      area,
    });
    expect(revocation.status).toBe(204);
    for (const base of [a, closed]) expect((await hello(base, revoked.key)).status).toBe(403);

    const traffic = startTraffic({
      open: { base: a, key: cached.key },
      closed: { base: closed, key: cached.key },
    });
    await stopService("redis");
    // A busy key's live lease keeps serving for up to LEASE_MS (Redis granted those tokens); the fail mode
    // applies once it has lapsed.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 200));

    expectAdmitted(await hello(a, cached.key), "fail-open, cached key", false);
    expectUnavailable(await hello(closed, cached.key), "fail-closed, cached key");
    // The architecture's table: with Redis down an uncached key is looked up in Postgres, then the fail mode
    // applies to the limits.
    expectAdmitted(await hello(a, uncachedOpen.key), "fail-open, uncached key (Postgres lookup)", false);
    expectUnavailable(await hello(closed, uncachedClosed.key), "fail-closed, uncached key");
    // Fail-open never means "any key": made-up and revoked keys are still refused.
    for (const base of [a, closed]) {
      const madeUp = await hello(base, generateApiKey("test"));
      verify(madeUp.status === 403, area, () => `made-up key during the outage: ${madeUp.status}, want 403`);
      const stillRevoked = await hello(base, revoked.key);
      verify(
        stillRevoked.status === 403,
        area,
        () => `revoked key during the outage: ${stillRevoked.status}`,
      );
    }

    await stopService("postgres");
    expectUnavailable(await hello(a, uncachedNoStores.key), "Redis and Postgres down, uncached key");
    await startService("postgres");
    await startService("redis");

    // Nothing restarted but Redis itself: the bridge reconnects, the worker's next round trip works.
    const recoveredMs = await timeUntil(async () => {
      const [open, shut] = await Promise.all([hello(a, cached.key), hello(closed, cached.key)]);
      return header(open, "ratelimit") !== null && shut.status === 200 && header(shut, "ratelimit") !== null;
    });
    measure("redis outage: recovery after redis-server is back (ms)", recoveredMs ?? "not within 20 s");
    verify(recoveredMs !== undefined, area, () => "no recovery within 20 s of Redis coming back");
    expectAdmitted(
      await hello(a, uncachedNoStores.key),
      "after recovery, the key refused during the outage",
      true,
    );

    const answers = await traffic.stop();
    const open = answers.open ?? [];
    const shut = answers.closed ?? [];
    measure("redis outage: background traffic, fail-open process", JSON.stringify(statusCounts(open)));
    measure("redis outage: background traffic, fail-closed process", JSON.stringify(statusCounts(shut)));
    verify(
      open.every((x) => x.status === 200),
      area,
      () => `fail-open traffic: ${JSON.stringify(statusCounts(open))}`,
    );
    verify(
      shut.every((x) => x.status === 200 || x.status === 503) && shut.some((x) => x.status === 503),
      area,
      () => `fail-closed traffic: ${JSON.stringify(statusCounts(shut))}, want 200s and 503s only`,
    );
    expect(violationsSince(mark)).toEqual([]);
  });
});
