import { afterEach, describe, expect, it, vi } from "vitest";
import { accountWithKey, gateway, withKey } from "./support";

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
});
