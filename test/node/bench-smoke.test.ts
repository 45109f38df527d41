import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderComparison } from "../../scripts/bench/compare.ts";
import type { BenchResult } from "../../scripts/bench/run.ts";

/**
 * `npm run bench -- --smoke` end to end: the whole stack, both workers under wrangler dev, a second of load
 * per configuration. Run as a child process, as `npm run bench` runs, so whatever happens here the
 * benchmark's own cleanup stops wrangler's process groups, the stack and the throwaway database.
 */
const root = join(import.meta.dirname, "..", "..");
const outDir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
const jsonPath = join(outDir, "result.json");
let child: ChildProcess | undefined;

afterAll(async () => {
  // Only if the test gave up on it: SIGTERM makes the benchmark clean up before it exits.
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child?.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  rmSync(outDir, { recursive: true, force: true });
});

function runSmoke(): Promise<{ code: number | null; output: string }> {
  const started = spawn(
    process.execPath,
    [join(root, "scripts", "bench", "bench.ts"), "--smoke", "--exit-with-stdin", "--json-out", jsonPath],
    { cwd: root, stdio: ["pipe", "pipe", "pipe"] },
  );
  child = started;
  let output = "";
  started.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  started.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  return new Promise((resolve) => started.once("exit", (code) => resolve({ code, output })));
}

describe("npm run bench -- --smoke", () => {
  it("measures every configuration and its counters are sane", { timeout: 180_000 }, async () => {
    const { code, output } = await runSmoke();
    expect(code, output).toBe(0);
    const result = JSON.parse(readFileSync(jsonPath, "utf8")) as BenchResult;
    const row = (id: string) => {
      const found = result.rows[id];
      if (!found) throw new Error(`${id} was not measured`);
      return found;
    };

    for (const concurrency of result.options.concurrencies) {
      const allowed = row(`gateway@${concurrency}`);
      expect(allowed.non2xx).toBe(0);
      // One round trip per allowed request, after-response work included: the usage flush once at the end.
      expect(allowed.totals.redisRoundTrips).toBeGreaterThanOrEqual(allowed.responses);
      expect(allowed.totals.redisRoundTrips).toBeLessThanOrEqual(allowed.responses + 2);
      expect(allowed.totals.pgQueries).toBe(0);

      const blocked = row(`blocked@${concurrency}`);
      expect((blocked.statuses["429"] ?? 0) / blocked.responses).toBeGreaterThanOrEqual(0.99);
      // Refused from isolate memory: a re-check a second and the flush, not a round trip per request.
      expect(blocked.totals.redisRoundTrips).toBeLessThanOrEqual(
        Math.ceil(blocked.responses / blocked.reqPerSec) + 2,
      );
      expect(blocked.totals.pgQueries).toBe(0);

      for (const target of ["origin", "passthrough"]) {
        const direct = row(`${target}@${concurrency}`);
        expect(direct.non2xx).toBe(0);
        expect(direct.totals.redisRoundTrips + direct.totals.pgQueries).toBe(0);
      }
    }
    // A key's first use reaches Postgres (the proxy's counter is live), later uses never do.
    expect(row(result.coldRowId).perRequest.pgQueries).toBeGreaterThanOrEqual(0.9);
    for (const count of result.options.scaleKeyCounts) {
      expect(row(`keys:${count}`).totals.pgQueries).toBe(0);
      expect(row(`keys:${count}`).non2xx).toBe(0);
    }
    // Ten tiers in use, on the build with generated tiers, cost what one does: one round trip, no Postgres.
    expect(result.tiers).toHaveLength(10);
    for (const count of [1, 10]) {
      const tiers = row(`tiers:${count}`);
      expect(tiers.non2xx).toBe(0);
      expect(tiers.totals.redisRoundTrips).toBeLessThanOrEqual(tiers.responses + 2);
      expect(tiers.totals.pgQueries).toBe(0);
    }
    expect(output).toMatch(/10 tiers \(free, basic, pro \+ 7 generated\)/);

    // A saved run compares with itself: the same ratio in both columns, read from the JSON it wrote.
    const ratio = (row(`gateway@16`).reqPerSec / row(`passthrough@16`).reqPerSec).toFixed(2);
    const line = renderComparison([jsonPath, jsonPath])
      .split("\n")
      .find((text) => text.startsWith("gateway req/s vs bare, c=16"));
    expect(line?.split(/\s{2,}/).slice(1)).toEqual([`${ratio}x`, `${ratio}x`]);
  });
});
