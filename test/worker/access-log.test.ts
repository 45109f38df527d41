import { afterEach, describe, expect, it, vi } from "vitest";
import { accountWithKey, gateway, gatewayWith, withKey } from "./support";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Captures the JSON lines the worker writes while `run` executes. */
async function logLines(run: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const lines: string[] = [];
  for (const method of ["log", "warn", "error"] as const) {
    vi.spyOn(console, method).mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
  }
  await run();
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

describe("access log", () => {
  it("writes one structured line per API request, with identity and outcome but never the key", async () => {
    const { key, keyId, account } = await accountWithKey("free");
    let requestId = "";
    const lines = await logLines(async () => {
      const response = await gateway("/v1/hello", withKey(key));
      requestId = response.headers.get("X-Request-Id") as string;
    });
    const line = lines.find((entry) => entry.message === "request" && entry.requestId === requestId);
    expect(line).toMatchObject({
      level: "info",
      method: "GET",
      path: "/v1/hello",
      status: 200,
      outcome: "ok",
      accountId: account.id,
      keyId,
      tier: "free",
    });
    expect(typeof line?.latencyMs).toBe("number");
    expect(JSON.stringify(lines)).not.toContain(key);
  });

  it("logs refusals with their reason", async () => {
    const lines = await logLines(() => gateway("/v1/hello", withKey("gw_test_notavalidkeyatall")));
    expect(lines.find((entry) => entry.message === "request")).toMatchObject({ status: 403 });
  });

  it("keeps ACCESS_LOG_SAMPLE_RATE of the answered requests, marked with the rate, and every refusal", async () => {
    const { key } = await accountWithKey("pro");
    const requests = 200;
    const sampled = (rate: string) =>
      logLines(async () => {
        // No unsampled share: the rate applies from the first request.
        const settings = { ACCESS_LOG_SAMPLE_RATE: rate, ACCESS_LOG_UNSAMPLED_PER_SECOND: "0" };
        for (let i = 0; i < requests; i++) {
          const response = await gatewayWith(settings, "/v1/hello", withKey(key));
          expect(response.status).toBe(200);
        }
        const refused = await gatewayWith(settings, "/v1/hello", withKey("gw_test_notavalidkeyatall"));
        expect(refused.status).toBe(403);
      });
    const none = (await sampled("0")).filter((entry) => entry.message === "request");
    expect(none.map((entry) => entry.status)).toEqual([403]);
    expect(none[0]).not.toHaveProperty("sampleRate");

    const half = (await sampled("0.5")).filter((entry) => entry.message === "request");
    const answered = half.filter((entry) => entry.status === 200);
    // Binomial(200, 0.5): outside 60..140 about once in 10^8 runs.
    expect(answered.length).toBeGreaterThan(60);
    expect(answered.length).toBeLessThan(140);
    expect(answered.every((entry) => entry.sampleRate === 0.5)).toBe(true);
    expect(half.filter((entry) => entry.status === 403)).toHaveLength(1);
  });

  it("logs every answered request of a second up to ACCESS_LOG_UNSAMPLED_PER_SECOND, then samples", async () => {
    const { key } = await accountWithKey("pro");
    // One second of this isolate no request has reached yet, held still: every request below falls in it.
    const second = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    vi.spyOn(Date, "now").mockReturnValue(second + 100);
    const settings = { ACCESS_LOG_SAMPLE_RATE: "0", ACCESS_LOG_UNSAMPLED_PER_SECOND: "5" };
    const lines = await logLines(async () => {
      for (let i = 0; i < 12; i++) {
        expect((await gatewayWith(settings, "/v1/hello", withKey(key))).status).toBe(200);
      }
      expect((await gatewayWith(settings, "/v1/hello", withKey("gw_test_notavalidkeyatall"))).status).toBe(
        403,
      );
    });
    const requests = lines.filter((entry) => entry.message === "request");
    expect(requests.map((entry) => entry.status)).toEqual([200, 200, 200, 200, 200, 403]);
    expect(requests.some((entry) => "sampleRate" in entry)).toBe(false);

    // The next second has a budget of its own.
    vi.spyOn(Date, "now").mockReturnValue(second + 1100);
    const next = await logLines(() => gatewayWith(settings, "/v1/hello", withKey(key)));
    expect(next.filter((entry) => entry.message === "request").map((entry) => entry.status)).toEqual([200]);
  });

  it("logs every request of a quiet isolate at the defaults, with no sampleRate", async () => {
    const { key } = await accountWithKey("pro");
    const lines = await logLines(async () => {
      for (let i = 0; i < 20; i++) expect((await gateway("/v1/hello", withKey(key))).status).toBe(200);
    });
    const requests = lines.filter((entry) => entry.message === "request");
    // The default share (100 a second) is far above 20 sequential requests however fast they run.
    expect(requests).toHaveLength(20);
    expect(requests.some((entry) => "sampleRate" in entry)).toBe(false);
  });

  it("refuses a sample rate outside 0..1 at startup, naming the setting", async () => {
    const response = await gatewayWith({ ACCESS_LOG_SAMPLE_RATE: "10%" }, "/v1/hello");
    expect(response.status).toBe(500);
    expect(await response.text()).toContain("ACCESS_LOG_SAMPLE_RATE");
  });
});
