import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderComparison } from "../../scripts/bench/compare.ts";
import type { BenchResult } from "../../scripts/bench/run.ts";
import { hotRows, slowRoundTripFloor, slowRows } from "../../scripts/bench/targets.ts";

/**
 * `npm run bench -- --smoke` end to end: the whole stack, the workers in workerd, a second or a few hundred
 * requests per key of load per configuration, and issue 13's Redis budgets per request, checked on counts. Run as a child process, as `npm run bench` runs, so whatever happens here the
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
  it("measures every configuration, and the hot path keeps its Redis budgets", {
    timeout: 420_000,
  }, async () => {
    const { code, output } = await runSmoke();
    expect(code, output).toBe(0);
    const result = JSON.parse(readFileSync(jsonPath, "utf8")) as BenchResult;
    const row = (id: string) => {
      const found = result.rows[id];
      if (!found) throw new Error(`${id} was not measured`);
      return found;
    };

    // Issue 13's budgets, from the counts at the Upstash bridge (after-response work included): hot keys
    // are served from leases, slow keys pay a lease and at most a flush each.
    const hot = hotRows(result);
    expect(hot.map((r) => r.id)).toEqual(expect.arrayContaining(["gateway@16", "fulllog@16", "keys:1"]));
    for (const allowed of hot) {
      expect(allowed.non2xx, allowed.id).toBe(0);
      expect(allowed.totals.redisRoundTrips, allowed.id).toBeGreaterThanOrEqual(1);
      expect(allowed.perRequest.redisRoundTrips, allowed.id).toBeLessThanOrEqual(0.05);
      expect(allowed.perRequest.redisCommands, allowed.id).toBeLessThanOrEqual(0.2);
      expect(allowed.totals.pgQueries, allowed.id).toBe(0);
    }
    const slow = slowRows(result);
    expect(slow.map((r) => r.id)).toEqual(
      expect.arrayContaining([`slow:${result.options.slowKeys}`, "keys:100", "tiers:1", "tiers:10"]),
    );
    for (const allowed of slow) {
      expect(allowed.non2xx, allowed.id).toBe(0);
      expect(allowed.perRequest.redisRoundTrips, allowed.id).toBeGreaterThanOrEqual(
        slowRoundTripFloor(result, allowed),
      );
      expect(allowed.perRequest.redisRoundTrips, allowed.id).toBeLessThanOrEqual(2);
      expect(allowed.totals.pgQueries, allowed.id).toBe(0);
    }

    for (const concurrency of result.options.concurrencies) {
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
    // Ten tiers in use, on the build with generated tiers, cost what one does.
    expect(result.tiers).toHaveLength(10);
    expect(output).toMatch(/10 tiers \(free, basic, pro \+ 7 generated\)/);
    expect(output).toMatch(/Redis commands per million requests/);

    // A saved run compares with itself: the same ratio in both columns, read from the JSON it wrote.
    const ratio = (row(`gateway@16`).reqPerSec / row(`passthrough@16`).reqPerSec).toFixed(2);
    const line = renderComparison([jsonPath, jsonPath])
      .split("\n")
      .find((text) => text.startsWith("gateway req/s vs bare, c=16"));
    expect(line?.split(/\s{2,}/).slice(1)).toEqual([`${ratio}x`, `${ratio}x`]);
  });
});
