import { afterAll, describe, expect, it } from "vitest";
import { LEASE_MS } from "../../src/gateway/lease-life.ts";
import { accountWithKeys, call, type TestKey } from "./harness/client.ts";
import { setBridgeDelay, startService, stopService } from "./harness/control.ts";
import { env } from "./harness/environment.ts";
import { measure, verify, violationMark, violationsSince } from "./harness/figures.ts";
import { header } from "./harness/observed.ts";
import { timeUntil } from "./harness/traffic.ts";

const { a, closed } = env.gateways;
const { originTimeoutMs, rateLimitTimeoutMs } = env.settings;
afterAll(async () => {
  await setBridgeDelay(0).catch(() => {});
  await startService("origin").catch(() => {});
});

let keys: TestKey[] = [];
const key = (index: number) => keys[index]?.key as string;

describe("faults: the origin", () => {
  it("down: 502 problem+json at once; back: 200, nothing restarted", async () => {
    const mark = violationMark();
    const area = "faults: origin down";
    keys = await accountWithKeys("pro", 4);
    expect((await call(a, "/v1/hello", { apiKey: key(0), area })).status).toBe(200);
    await stopService("origin");
    const down = await call(a, "/v1/hello", { apiKey: key(0), area });
    verify(down.status === 502, area, () => `${down.status} ${down.text.slice(0, 200)}, want 502`);
    measure("origin down: 502 after (ms)", Math.round(down.elapsedMs));
    await startService("origin");
    const back = await timeUntil(
      async () => (await call(a, "/v1/hello", { apiKey: key(0), area })).status === 200,
    );
    verify(back !== undefined, area, () => "no 200 within 20 s of the origin coming back");
    expect(violationsSince(mark)).toEqual([]);
  });

  it(`hanging: 504 problem+json at ORIGIN_TIMEOUT_MS (${originTimeoutMs} ms)`, async () => {
    const mark = violationMark();
    const area = "faults: origin hanging";
    const hung = await call(a, `/v1/slow?ms=${originTimeoutMs * 4}`, { apiKey: key(0), area });
    measure("origin hanging: 504 after (ms)", Math.round(hung.elapsedMs));
    verify(hung.status === 504, area, () => `${hung.status} ${hung.text.slice(0, 200)}, want 504`);
    verify(
      hung.elapsedMs >= originTimeoutMs - 50 && hung.elapsedMs < originTimeoutMs + 1000,
      area,
      () => `answered after ${Math.round(hung.elapsedMs)} ms, want about ${originTimeoutMs}`,
    );
    // Slower than usual but within the deadline is not a timeout.
    const slowButFine = await call(a, `/v1/slow?ms=${Math.round(originTimeoutMs / 3)}`, {
      apiKey: key(0),
      area,
    });
    verify(slowButFine.status === 200, area, () => `an answer within the deadline: ${slowButFine.status}`);
    expect(violationsSince(mark)).toEqual([]);
  });
});

describe("faults: a slow Upstash", () => {
  it(`answers within RATE_LIMIT_TIMEOUT_MS (${rateLimitTimeoutMs} ms) + margin instead of waiting for Redis`, async () => {
    const mark = violationMark();
    const area = "faults: slow redis";
    // Generous for a loaded 2-core machine, still far below the 3 s a request would wait for Redis.
    const margin = 700;
    for (const base of [a, closed])
      expect((await call(base, "/v1/hello", { apiKey: key(1), area })).status).toBe(200);
    const baseline = await call(a, "/v1/hello", { apiKey: key(1), area });

    // Ten times the deadline: without it every request would take 3 s.
    await setBridgeDelay(rateLimitTimeoutMs * 10);
    // The warm-up's lease may still hold tokens for up to LEASE_MS (Redis granted them); the fail mode
    // applies once it has lapsed.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 200));
    const open: number[] = [];
    const shut: number[] = [];
    for (let i = 0; i < 8; i++) {
      const admitted = await call(a, "/v1/hello", { apiKey: key(1), area });
      open.push(Math.round(admitted.elapsedMs));
      verify(
        admitted.status === 200 && isolateCounted(header(admitted, "ratelimit")),
        area,
        () =>
          `fail-open: ${admitted.status}, RateLimit ${header(admitted, "ratelimit")}; want 200 counted by the isolate alone`,
      );
      const refused = await call(closed, "/v1/hello", { apiKey: key(1), area });
      shut.push(Math.round(refused.elapsedMs));
      verify(refused.status === 503, area, () => `fail-closed: ${refused.status}, want 503`);
    }
    // An uncached key waits for two deadlines: the key lookup, then the limits (with Postgres in between).
    const uncached = await call(a, "/v1/hello", { apiKey: key(2), area });
    await setBridgeDelay(0);

    measure("slow redis: baseline latency (ms)", Math.round(baseline.elapsedMs));
    measure("slow redis: fail-open latencies, cached key (ms)", open.join(" "));
    measure("slow redis: fail-closed latencies (ms)", shut.join(" "));
    measure(
      "slow redis: uncached key latency (ms)",
      `${Math.round(uncached.elapsedMs)} (status ${uncached.status})`,
    );
    const bound = rateLimitTimeoutMs + margin;
    verify(
      Math.max(...open, ...shut) < bound,
      area,
      () => `answers took up to ${Math.max(...open, ...shut)} ms, bound ${bound}`,
    );
    verify(uncached.status === 200, area, () => `uncached key: ${uncached.status}`);
    verify(
      uncached.elapsedMs < 2 * rateLimitTimeoutMs + margin,
      area,
      () => `uncached key: ${Math.round(uncached.elapsedMs)} ms`,
    );

    const recovered = await timeUntil(async () => {
      const answer = await call(a, "/v1/hello", { apiKey: key(1), area });
      return header(answer, "ratelimit") !== null;
    });
    verify(recovered !== undefined, area, () => "the limiter did not come back after the delay ended");
    expect(violationsSince(mark)).toEqual([]);
  });
});

/** A RateLimit header of the isolate's own count (fail-open without Redis): the window, no month quota. */
function isolateCounted(state: string | null): boolean {
  return (state?.includes('"minute"') ?? false) && !state?.includes('"month"');
}
