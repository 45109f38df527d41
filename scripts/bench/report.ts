import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import {
  type BenchResult,
  FULL_LOG,
  ISOLATE_CACHE_ENTRIES,
  LEAN,
  phaseId,
  REFUSAL_SETTLE_MS,
  SETTLE_MS,
  TARGET_LABELS,
  type Target,
} from "./run.ts";
import type { Row } from "./stats.ts";
import {
  BUDGETS,
  checkTargets,
  comparisons,
  DOLLARS_PER_COMMAND,
  dollarsPerMillion,
  keysOf,
  perKeyRate,
  perSecond,
  signed,
} from "./targets.ts";

export interface Table {
  title: string;
  head: string[];
  /** Columns aligned right (numbers). */
  right: boolean[];
  rows: string[][];
}

const int = (value: number) => Math.round(value).toLocaleString("en-US");
const ms = (value: number) => value.toFixed(2);
const per = (value: number) => (Number.isNaN(value) ? "-" : value.toFixed(3));

const ROW_ORDER: Target[] = ["origin", "passthrough", LEAN, "gateway", FULL_LOG, "blocked"];
/** Rows that are not the gateway: nothing of theirs reaches Redis or Postgres. */
const NOT_GATEWAY: ReadonlySet<Target> = new Set(["origin", "passthrough", LEAN]);

/** req/s ratio, p50 and p99 added, against the bare proxy (row 2) at the same concurrency. */
function versusBare(r: Row, bare: Row): string[] {
  return [
    `${(r.reqPerSec / bare.reqPerSec).toFixed(2)}x`,
    signed(r.p50Ms - bare.p50Ms),
    signed(r.p99Ms - bare.p99Ms),
  ];
}

function hotPathTable(result: BenchResult): Table {
  const compared = comparisons(result);
  const rows: string[][] = [];
  for (const c of compared) {
    for (const target of ROW_ORDER) {
      const r = result.rows[phaseId.main(target, c.concurrency)];
      if (!r) continue;
      const vs = target === "origin" || target === "passthrough" ? ["", "", ""] : versusBare(r, c.bare);
      const counted = !NOT_GATEWAY.has(target);
      rows.push([
        TARGET_LABELS[target],
        String(c.concurrency),
        int(r.reqPerSec),
        ms(r.p50Ms),
        ms(r.p99Ms),
        ...vs,
        counted ? per(r.perRequest.redisRoundTrips) : "",
        counted ? per(r.perRequest.redisCommands) : "",
        counted ? per(r.perRequest.pgQueries) : "",
        statusSummary(r),
        counted ? gatewayLog(r) : "",
      ]);
    }
  }
  return {
    title: `Hot path: GET /v1/hello, ${result.options.rounds} interleaved round(s) of ~${result.options.durationSec} s per cell`,
    head: [
      "target",
      "conc",
      "req/s",
      "p50 ms",
      "p99 ms",
      "req/s vs 2",
      "p50 vs 2",
      "p99 vs 2",
      "Redis RT/req",
      "cmds/req",
      "PG q/req",
      "responses",
      "gateway log",
    ],
    right: [false, true, true, true, true, true, true, true, true, true, true, false, false],
    rows,
  };
}

function scaleTable(result: BenchResult): Table {
  const rows = result.options.scaleKeyCounts.map((count) => {
    const r = result.rows[phaseId.keys(count)] as Row;
    const note = count > ISOLATE_CACHE_ENTRIES ? "beyond the isolate cache: every request misses memory" : "";
    return scaleCells(int(count), r, note);
  });
  const slow = result.slowRowId ? result.rows[result.slowRowId] : undefined;
  if (slow) {
    rows.push(
      scaleCells(
        `${int(result.options.slowKeys)}, 1 req/s each`,
        slow,
        `paced at ${int(result.options.slowKeys)} req/s over ${result.options.slowConnections} connections: each key about once a second`,
      ),
    );
  }
  const cold = result.rows[result.coldRowId];
  if (cold) {
    const count = Number(result.coldRowId.split(":")[1]);
    rows.push(
      scaleCells(`${int(count)}, first use`, cold, "cold: keys in neither memory nor Redis (measured once)"),
    );
  }
  return {
    title:
      `Active keys (pro, round robin, ${result.options.scaleConnections} connections paced at ` +
      `${result.options.scaleRate} req/s; slow keys paced apart; first use unpaced)`,
    head: [
      "active keys",
      "req/s",
      "p50 ms",
      "p99 ms",
      "Redis RT/req",
      "cmds/req",
      "PG q/req",
      "responses",
      "gateway log",
      "note",
    ],
    right: [false, true, true, true, true, true, true, false, false, false],
    rows,
  };
}

function scaleCells(label: string, r: Row, note: string): string[] {
  return [
    label,
    int(r.reqPerSec),
    ms(r.p50Ms),
    ms(r.p99Ms),
    per(r.perRequest.redisRoundTrips),
    per(r.perRequest.redisCommands),
    per(r.perRequest.pgQueries),
    statusSummary(r),
    gatewayLog(r),
    note,
  ];
}

function tierTable(result: BenchResult): Table {
  const all = result.tiers.length;
  const rows = [1, all].map((count) => {
    const r = result.rows[phaseId.tiers(count)] as Row;
    const label =
      count === 1
        ? "1 tier (pro)"
        : `${count} tiers (${result.tiers.slice(0, 3).join(", ")} + ${count - 3} generated)`;
    return [
      label,
      int(result.options.keysPerTier * all),
      int(r.reqPerSec),
      ms(r.p50Ms),
      ms(r.p99Ms),
      per(r.perRequest.redisRoundTrips),
      per(r.perRequest.redisCommands),
      per(r.perRequest.pgQueries),
      statusSummary(r),
      gatewayLog(r),
    ];
  });
  return {
    title: `Tiers in use (${result.options.tierConnections} connections, unpaced)`,
    head: [
      "tiers",
      "keys",
      "req/s",
      "p50 ms",
      "p99 ms",
      "Redis RT/req",
      "cmds/req",
      "PG q/req",
      "responses",
      "gateway log",
    ],
    right: [false, true, true, true, true, true, true, true, false, false],
    rows,
  };
}

/** CPU per request of each process on this machine, for the hot path at one concurrency. */
function cpuTable(result: BenchResult): Table | undefined {
  const concurrency = result.options.concurrencies.includes(16) ? 16 : result.options.concurrencies[0];
  if (concurrency === undefined) return undefined;
  const shared = ["bench process (origin, bridge, Neon proxy)", "redis-server", "load generator"];
  const rows = ROW_ORDER.flatMap((target) => {
    const r = result.rows[phaseId.main(target, concurrency)];
    if (!r) return [];
    const worker =
      target === "origin"
        ? undefined
        : target === "passthrough"
          ? "bare proxy"
          : target === LEAN
            ? "lean proxy"
            : target === FULL_LOG
              ? FULL_LOG
              : "gateway";
    const cpu = (group: string) => r.cpuMsPerRequest[group] ?? 0;
    const own = worker ? [`${worker}: workerd`, `${worker}: launcher`].map(cpu) : [0, 0];
    const rest = shared.map(cpu);
    const total = [...own, ...rest].reduce((a, b) => a + b, 0);
    return [[TARGET_LABELS[target], ...[...own, ...rest, total].map((value) => value.toFixed(3))]];
  });
  return {
    title: `CPU ms per request by process, concurrency ${concurrency} (/proc; all on this machine's ${result.machine.nproc} cores)`,
    head: [
      "target",
      "worker's workerd",
      "launcher (node: Miniflare, log lines)",
      "bench process: origin, bridge, Neon proxy",
      "redis-server",
      "load generator",
      "total",
    ],
    right: [false, true, true, true, true, true, true],
    rows,
  };
}

function profileTables(result: BenchResult): Table[] {
  const profile = result.profile;
  if (!profile) return [];
  const perRequest = (selfMs: number) => (selfMs / profile.requests).toFixed(3);
  const title = (what: string) =>
    `Gateway worker CPU by ${what}: ${profile.requests} allowed requests at concurrency ${profile.concurrency}, ` +
    `${perRequest(profile.worker.activeMs)} ms each (V8 sampling profile via workerd's inspector, idle excluded)`;
  return [
    {
      title: title(
        "source module (self time, with the runtime's native functions counted where JS called them)",
      ),
      head: ["module", "ms/req", "share"],
      right: [false, true, true],
      rows: profile.worker.modules
        .slice(0, 15)
        .map((entry) => [entry.name, perRequest(entry.selfMs), `${(entry.share * 100).toFixed(1)}%`]),
    },
    {
      title: title("function (self time)"),
      head: ["function and module", "ms/req", "share"],
      right: [false, true, true],
      rows: profile.worker.functions
        .slice(0, 20)
        .map((entry) => [entry.name, perRequest(entry.selfMs), `${(entry.share * 100).toFixed(1)}%`]),
    },
  ];
}

/**
 * What Redis costs per million requests of each kind of traffic, at Upstash's pay-as-you-go price: hot keys
 * (leases), slow keys (about one request a second each), a key's first use, a blocked key.
 */
export function costTable(result: BenchResult): Table {
  const rows: string[][] = [];
  const add = (label: string, id: string | undefined) => {
    const r = id ? result.rows[id] : undefined;
    if (!r) return;
    const commandsPerMillion = r.perRequest.redisCommands * 1_000_000;
    rows.push([
      label,
      int(keysOf(result, r.id)),
      perKeyRate(result, r) >= 10 ? int(perKeyRate(result, r)) : perKeyRate(result, r).toFixed(2),
      per(r.perRequest.redisRoundTrips),
      per(r.perRequest.redisCommands),
      int(commandsPerMillion),
      `$${dollarsPerMillion(r.perRequest.redisCommands).toFixed(2)}`,
    ]);
  };
  for (const concurrency of result.options.concurrencies) {
    add(`hot keys, concurrency ${concurrency}`, phaseId.main("gateway", concurrency));
  }
  for (const count of result.options.scaleKeyCounts) {
    if (result.options.scaleRate / count >= BUDGETS.hotKeyMinRate) {
      add(`1 hot key paced at ${result.options.scaleRate} req/s`, phaseId.keys(count));
    }
  }
  add(`${int(result.options.slowKeys)} keys at 1 req/s each`, result.slowRowId);
  add(`${int(result.options.coldKeys)} cold keys, first use`, result.coldRowId);
  add("blocked key (429s), concurrency 16", phaseId.main("blocked", 16));
  return {
    title: `Redis commands per million requests, at $${(DOLLARS_PER_COMMAND * 100_000).toFixed(2)} per 100,000 commands (Upstash pay as you go); after-response work included`,
    head: [
      "traffic",
      "keys",
      "req/s per key",
      "Redis RT/req",
      "cmds/req",
      "Redis commands per million requests",
      "$ per million requests",
    ],
    right: [false, true, true, true, true, true, true],
    rows,
  };
}

function targetTable(result: BenchResult): Table {
  return {
    title: "Targets (issue 13)",
    head: ["target", "measured", "met"],
    right: [false, false, false],
    rows: checkTargets(result).map((check) => [check.target, check.measured, check.met ? "yes" : "NO"]),
  };
}

/** Shares of statuses, e.g. "200 100%" or "429 99.9%, 200 0.1%". */
function statusSummary(r: Row): string {
  const total = Object.values(r.statuses).reduce((a, b) => a + b, 0);
  const parts = Object.entries(r.statuses)
    .sort((a, b) => b[1] - a[1])
    .map(([status, count]) => `${status} ${trimPercent((100 * count) / Math.max(1, total))}`);
  if (r.errors) parts.push(`errors ${r.errors}`);
  return parts.join(", ");
}

/** Warnings and errors the gateway logged (e.g. Redis timeouts, fail-open admissions), and runtime restarts. */
function gatewayLog(r: Row): string {
  const parts = [];
  if (r.gatewayWarnings) parts.push(`${int(r.gatewayWarnings)} warn/err`);
  if (r.gatewayRestarts) parts.push(`restarted in ${r.gatewayRestarts} round(s)`);
  return parts.join(", ") || "clean";
}

function trimPercent(value: number): string {
  return `${value >= 99.95 || value < 0.05 ? value.toFixed(0) : value.toFixed(1)}%`;
}

function notes(result: BenchResult): string[] {
  const blocked = comparisons(result).map(
    (c) => `${perSecond(c.blocked).toFixed(1)}/s at c=${c.concurrency}`,
  );
  const restarts = Object.values(result.rows).filter((r) => r.gatewayRestarts > 0);
  const noisy = Object.values(result.rows).filter((r) => r.gatewayWarnings > 0);
  const notes = [
    `Tiers: plans are code, so the tier phases run against a build of a copy of the sources whose plan list has ${result.tiers.length} tiers (the project's ${result.tiers.slice(0, 3).join(", ")} and ${result.tiers.length - 3} generated pro-like tiers with limits of their own; scripts/bench/tiered-build.ts); both the one-tier and the ${result.tiers.length}-tier set run against that build.`,
    "Both workers are built once with `wrangler deploy --dry-run` (the production bundle) and run in workerd through Miniflare, one workerd each, without wrangler dev's proxy worker and DevTools log relay (which production does not have either); absolute figures are the local runtime's on this machine, where Redis, the Upstash bridge and the origin share the same cores, not Cloudflare's edge. The ratios compare like with like.",
    `Counts: Redis round trips and commands at the Upstash bridge under the gateway's own tag (a script counts as one command, as Upstash bills it), Postgres queries at the Neon proxy; each phase is a fixed number of requests and counters are read ${SETTLE_MS} ms after its last response (${REFUSAL_SETTLE_MS} ms for refusals, whose counts wait longer), so deferred work (the usage flush) is included.`,
    `Hot path: ${result.options.mainKeys} pro keys in round robin, each hot (>= ${BUDGETS.hotKeyMinRate} req/s from the one isolate at every concurrency: the case leases serve from memory) and far below pro's limits; at least ${result.options.hotRequestsPerKey} requests per key per phase. Slow keys: ${int(result.options.slowKeys)} keys paced at ${int(result.options.slowKeys)} req/s over ${result.options.slowConnections} connections, each key about once a second, right after one paced pass over them.`,
    `Blocked key: a free key held over its limit for the whole run; the isolate answers it from memory and lets one request a second ask Redis again. Its Redis round trips per second: ${blocked.join(", ")}.`,
    `Active keys: paced at ${result.options.scaleRate} req/s over ${result.options.scaleConnections} connections, because one pro key admits at most 200 req/s sustained (its burst refill) and all points are measured alike; with leases the cost per request follows each key's rate (1 key: hot, ${int(result.options.scaleRate)} req/s; more keys: each slower), not the number of keys. Every set's key and account records are put in Redis first, exactly as the gateway published them for the "first use" keys (which it looked up in Postgres itself), as at steady state; isolate memory starts empty and each phase's warm-up visits the keys of sets within the cache's bound.`,
  ];
  if (noisy.length) {
    notes.push(
      `The gateway logged warnings or errors in: ${noisy.map((r) => `${r.id} (${int(r.gatewayWarnings)})`).join(", ")}. See "gateway log" above; figures of those phases include whatever caused them.`,
    );
  }
  if (restarts.length) {
    notes.push(
      `The gateway's runtime restarted during: ${restarts.map((r) => r.id).join(", ")} (isolate caches lost).`,
    );
  }
  return notes;
}

function machineLine(result: BenchResult): string {
  const m = result.machine;
  return (
    `${m.date} | nproc ${m.nproc} | ${m.cpuModel} | ${m.memoryGiB} GiB | Node ${m.node} | wrangler ${m.wrangler} ` +
    `(workerd ${m.workerd}) | autocannon ${m.autocannon} | Redis ${m.redis} | PostgreSQL ${m.postgres} | ` +
    `commit ${m.commit}${m.dirty ? " + local changes" : ""} | ${result.mode} run, ${result.wallSeconds.toFixed(0)} s`
  );
}

function tables(result: BenchResult): Table[] {
  const cpu = cpuTable(result);
  return [
    hotPathTable(result),
    scaleTable(result),
    tierTable(result),
    costTable(result),
    targetTable(result),
    ...(cpu ? [cpu] : []),
    ...profileTables(result),
  ];
}

export function renderText(result: BenchResult): string {
  const out = [`Machine: ${machineLine(result)}`, ""];
  for (const table of tables(result)) out.push(...textTable(table), "");
  out.push(...notes(result).map((note) => `- ${note}`));
  return out.join("\n");
}

/** A table as aligned plain-text lines: title, head, rule, rows. */
export function textTable(table: Table): string[] {
  const widths = table.head.map((head, i) =>
    Math.max(head.length, ...table.rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (table.right[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [table.title, line(table.head), line(widths.map((w) => "-".repeat(w))), ...table.rows.map(line)];
}

export function renderMarkdown(result: BenchResult, jsonPath: string): string {
  const out = [`Run of ${result.startedAt.slice(0, 10)}, raw data in [${jsonPath}](${jsonPath}).`, ""];
  out.push(`Machine: ${machineLine(result)}`, "");
  for (const table of tables(result)) {
    out.push(`**${table.title}**`, "");
    const cellText = (cell: string) => cell.replaceAll("|", "\\|");
    out.push(`| ${table.head.map(cellText).join(" | ")} |`);
    out.push(`| ${table.right.map((right) => (right ? "---:" : "---")).join(" | ")} |`);
    for (const row of table.rows) out.push(`| ${row.map(cellText).join(" | ")} |`);
    out.push("");
  }
  out.push(...notes(result).map((note) => `- ${note}`));
  return out.join("\n");
}

const START = "<!-- bench:results:start (written by npm run bench; edit around it) -->";
const END = "<!-- bench:results:end -->";

/**
 * Writes the run's JSON to docs/bench/<date>.json (a suffix when that day already has one) and puts its
 * tables between the markers of docs/BENCHMARK.md, leaving the hand-written text around them alone.
 */
export function writeDocs(result: BenchResult, root: string): { json: string; markdown: string } {
  const dir = join(root, "docs", "bench");
  mkdirSync(dir, { recursive: true });
  const day = result.startedAt.slice(0, 10);
  let json = join(dir, `${day}.json`);
  for (let n = 2; existsSync(json); n++) json = join(dir, `${day}-${n}.json`);
  writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);

  const markdown = join(root, "docs", "BENCHMARK.md");
  const section = `${START}\n${renderMarkdown(result, relative(join(root, "docs"), json))}\n${END}`;
  const current = existsSync(markdown) ? readFileSync(markdown, "utf8") : `# Benchmark\n\n${START}\n${END}\n`;
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  const next =
    start >= 0 && end > start
      ? current.slice(0, start) + section + current.slice(end + END.length)
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(markdown, next);
  return { json, markdown };
}
