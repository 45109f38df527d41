import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { type Table, textTable } from "./report.ts";
import type { BenchResult } from "./run.ts";
import type { Row } from "./stats.ts";
import { dollarsPerMillion, perSecond, signed } from "./targets.ts";

/**
 * `npm run bench -- --compare A.json B.json ...`: the figures that matter of several saved runs side by side,
 * each as a ratio or a count within its own run (so runs of one machine compare even when its speed drifts).
 * A run that lacks a measurement (an older schema, other options) shows "-".
 */
export function renderComparison(files: string[]): string {
  const runs = files.map((file) => ({
    label: basename(file, ".json"),
    result: JSON.parse(readFileSync(file, "utf8")) as BenchResult,
  }));
  const concurrencies = [...new Set(runs.flatMap((run) => run.result.options.concurrencies))];
  const rowOf = (result: BenchResult, id: string): Row | undefined => result.rows[id];
  const metric = (name: string, value: (result: BenchResult) => string | undefined): string[] => [
    name,
    ...runs.map((run) => value(run.result) ?? "-"),
  ];
  const pair = (result: BenchResult, target: string, concurrency: number) => {
    const row = rowOf(result, `${target}@${concurrency}`);
    const bare = rowOf(result, `passthrough@${concurrency}`);
    return row && bare ? { row, bare } : undefined;
  };

  const rows: string[][] = [
    metric("commit", (r) => `${r.machine.commit}${r.machine.dirty ? "+" : ""}`),
    metric("started", (r) => r.startedAt.slice(0, 16).replace("T", " ")),
  ];
  for (const c of concurrencies) {
    rows.push(
      metric(`gateway req/s vs bare, c=${c}`, (r) => {
        const p = pair(r, "gateway", c);
        return p && `${(p.row.reqPerSec / p.bare.reqPerSec).toFixed(2)}x`;
      }),
      metric(`p50 / p99 added ms, c=${c}`, (r) => {
        const p = pair(r, "gateway", c);
        return p && `${signed(p.row.p50Ms - p.bare.p50Ms)} / ${signed(p.row.p99Ms - p.bare.p99Ms)}`;
      }),
      metric(`Redis RT per allowed request, c=${c}`, (r) =>
        rowOf(r, `gateway@${c}`)?.perRequest.redisRoundTrips.toFixed(4),
      ),
      metric(`Redis RT per second, blocked key, c=${c}`, (r) => {
        const row = rowOf(r, `blocked@${c}`);
        return row && perSecond(row).toFixed(1);
      }),
    );
  }
  rows.push(
    metric("isolate CPU ms/request, gateway (bare), c=16", (r) => {
      const gateway = rowOf(r, "gateway@16")?.cpuMsPerRequest["gateway: workerd"];
      const bare = rowOf(r, "passthrough@16")?.cpuMsPerRequest["bare proxy: workerd"];
      return gateway === undefined || bare === undefined
        ? undefined
        : `${gateway.toFixed(2)} (${bare.toFixed(2)})`;
    }),
  );
  // Redis commands per request and their price per million requests, by kind of traffic.
  const costOf = (r: Row | undefined) =>
    r &&
    `${r.perRequest.redisCommands.toFixed(3)} ($${dollarsPerMillion(r.perRequest.redisCommands).toFixed(2)}/M)`;
  rows.push(
    metric("Redis cmds/request ($ per million), hot path c=16", (r) => costOf(rowOf(r, "gateway@16"))),
    metric("Redis RT / cmds per request, slow keys (1 req/s each)", (r) => {
      const row = r.slowRowId ? rowOf(r, r.slowRowId) : undefined;
      return row && `${row.perRequest.redisRoundTrips.toFixed(3)} / ${costOf(row)}`;
    }),
    metric("Redis RT / cmds per request, first use", (r) => {
      const row = rowOf(r, r.coldRowId);
      return row && `${row.perRequest.redisRoundTrips.toFixed(3)} / ${costOf(row)}`;
    }),
  );
  const keyCounts = [...new Set(runs.flatMap((run) => run.result.options.scaleKeyCounts))];
  for (const count of keyCounts) {
    rows.push(
      metric(`Redis RT per request, ${count.toLocaleString("en-US")} active keys`, (r) =>
        rowOf(r, `keys:${count}`)?.perRequest.redisRoundTrips.toFixed(3),
      ),
    );
  }
  const tierIds = [...new Set(runs.flatMap((run) => Object.keys(run.result.rows)))].filter((id) =>
    id.startsWith("tiers:"),
  );
  for (const id of tierIds.sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))) {
    rows.push(
      metric(`req/s, ${id.slice(6)} tier(s) in use`, (r) => {
        const row = rowOf(r, id);
        return row && Math.round(row.reqPerSec).toLocaleString("en-US");
      }),
    );
  }
  const table: Table = {
    title: "Saved benchmark runs side by side (ratios within each run)",
    head: ["", ...runs.map((run) => run.label)],
    right: [false, ...runs.map(() => true)],
    rows,
  };
  return textTable(table).join("\n");
}
