import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { plans } from "../../src/plans/plans.ts";
import { startLocalStack } from "../stack/local-stack.ts";
import { createDatabase, dropDatabase } from "../stack/migrate.ts";
import { isListening } from "../stack/net.ts";
import {
  type BenchKey,
  holdRateLimited,
  insertKeys,
  makeKeys,
  prefillRecords,
  type RestRedis,
  readPublishedRecords,
} from "./bench-data.ts";
import { type BenchWorker, startBenchWorker } from "./bench-worker.ts";
import type { Cleanup } from "./cleanup.ts";
import { storeCounters } from "./counters.ts";
import { type CpuGroup, cpuSince, cpuSnapshot, processGroup, workerGroups } from "./cpu.ts";
import { inspectorTarget, profileWorker, type WorkerProfile } from "./cpu-profile.ts";
import { type LoadSpec, startLoadClient } from "./load-client.ts";
import { type MachineInfo, machineInfo } from "./machine.ts";
import { type PhaseRecord, pool, quantile, type Row } from "./stats.ts";
import { prepareTieredProject } from "./tiered-build.ts";

export interface BenchOptions {
  mode: "full" | "smoke";
  /** Interleaved rounds: every configuration is measured once per round, so drift spreads over all. */
  rounds: number;
  /** Target length of one measured phase, in seconds. */
  durationSec: number;
  concurrencies: number[];
  /**
   * Pro keys of the allowed hot-path phases, round robin: few, so each is a HOT key (>= 50 req/s from the
   * one isolate at every concurrency, the case leases are for), yet each stays far below pro's limits.
   */
  mainKeys: number;
  /** At least this many requests per key in a hot-path phase, so a lease's ramp-up is not most of it. */
  hotRequestsPerKey: number;
  /** Active-key counts of the scaling phases. */
  scaleKeyCounts: number[];
  /** The scaling phases' paced rate: below what ONE pro key admits (burst refill 200/s). */
  scaleRate: number;
  /** Few: autocannon paces per second (each connection sends its share of a second at once), so this is
   * also the concurrency of those bursts. */
  scaleConnections: number;
  /** Tiers in use in the tier phases (the project's plus generated ones: see tiered-build.ts). */
  tierCount: number;
  /** Keys per tier of the tier phases (the one-tier set has as many keys as the all-tiers set). */
  keysPerTier: number;
  tierConnections: number;
  /**
   * Slow keys: this many keys, each sending about one request a second (the whole set paced at this many
   * req/s), the case where a lease has lapsed by the key's next request.
   */
  slowKeys: number;
  slowConnections: number;
  /** Keys looked up for the first time (Postgres), and at what concurrency, measured once. */
  coldKeys: number;
  coldConnections: number;
  /**
   * RATE_LIMIT_TIMEOUT_MS for the gateways, when not wrangler.toml's. The smoke run's is long: its budgets
   * are counts, and a lease call that misses a short deadline on a loaded machine is retried (a count set by
   * timing). Full runs keep the production deadline.
   */
  rateLimitTimeoutMs?: number;
  /** Record a CPU profile of the gateway in an extra phase (not counted in the tables). */
  profile: boolean;
  /** The concurrency at which the gateway that logs every request is measured too (none when not in concurrencies). */
  fullLogConcurrency: number;
  postgresUrl: string;
}

const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export const FULL_OPTIONS: BenchOptions = {
  mode: "full",
  rounds: 3,
  durationSec: 3,
  concurrencies: [1, 16, 64],
  mainKeys: 10,
  hotRequestsPerKey: 300,
  scaleKeyCounts: [1, 1_000, 100_000],
  scaleRate: 150,
  scaleConnections: 4,
  tierCount: 10,
  keysPerTier: 150,
  tierConnections: 16,
  slowKeys: 1_000,
  slowConnections: 16,
  coldKeys: 200,
  coldConnections: 16,
  profile: true,
  fullLogConcurrency: 16,
  postgresUrl: POSTGRES_URL,
};

export const SMOKE_OPTIONS: BenchOptions = {
  mode: "smoke",
  rounds: 1,
  durationSec: 1,
  concurrencies: [16],
  mainKeys: 2,
  hotRequestsPerKey: 300,
  scaleKeyCounts: [1, 100],
  scaleRate: 150,
  scaleConnections: 4,
  tierCount: 10,
  keysPerTier: 20,
  tierConnections: 16,
  slowKeys: 100,
  slowConnections: 8,
  coldKeys: 20,
  coldConnections: 16,
  rateLimitTimeoutMs: 5_000,
  profile: false,
  fullLogConcurrency: 16,
  postgresUrl: POSTGRES_URL,
};

export const TARGETS = ["origin", "passthrough", "gateway", "blocked"] as const;
/**
 * At one concurrency: the same gateway with ACCESS_LOG_SAMPLE_RATE=1, i.e. an access log line for every
 * request, where the defaults sample answered requests beyond 100 a second (see docs/BENCHMARK.md).
 */
export const FULL_LOG = "fulllog" as const;
/** At the same concurrency as FULL_LOG: a leaner pass-through than row 2 (lean-proxy-worker.ts). */
export const LEAN = "lean" as const;
/** The gateway built with extra tiers (tiered-build.ts), which the tier phases run against. */
export const TIERED = "gateway, many tiers";
export type Target = (typeof TARGETS)[number] | typeof FULL_LOG | typeof LEAN;

export const TARGET_LABELS: Record<Target, string> = {
  origin: "1 origin, direct",
  passthrough: "2 bare proxy worker",
  lean: "2b lean proxy worker (no Request copy)",
  gateway: "3 gateway, allowed",
  fulllog: "3b gateway, allowed, every request logged",
  blocked: "4 gateway, blocked (429)",
};

/** The isolate's key cache bound (src/gateway/key-resolver.ts), for the report. */
export const ISOLATE_CACHE_ENTRIES = 10_000;

export interface BenchResult {
  schema: 1;
  mode: BenchOptions["mode"];
  machine: MachineInfo;
  options: Omit<BenchOptions, "postgresUrl">;
  tiers: string[];
  /** Every configuration pooled over its rounds, by id (see phaseId). */
  rows: Record<string, Row>;
  /** The first use of keys in neither isolate memory nor Redis (a Postgres lookup each). */
  coldRowId: string;
  /** The slow keys' row (each key about once a second); absent in runs before it was measured. */
  slowRowId?: string;
  /** Where the gateway's CPU goes (allowed requests), from workerd's inspector; absent when not profiled. */
  profile?: { concurrency: number; requests: number; worker: WorkerProfile };
  phases: Array<Omit<PhaseRecord, "sample"> & PhaseSummary>;
  startedAt: string;
  wallSeconds: number;
}

interface PhaseSummary {
  responses: number;
  elapsedSec: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Record<string, number>;
}

export const phaseId = {
  main: (target: Target, concurrency: number) => `${target}@${concurrency}`,
  keys: (count: number) => `keys:${count}`,
  cold: (count: number) => `cold:${count}`,
  slow: (count: number) => `slow:${count}`,
  tiers: (count: number) => `tiers:${count}`,
};

/**
 * Time for after-response work to land before counters are read: the usage flush looks every 500 ms for a
 * pause in traffic and sends once a period passes with no lease call carrying counts (src/gateway/
 * usage-flush.ts), so it lands within about 1 s of the last request.
 */
export const SETTLE_MS = 1_600;
/** Requests each hot-path worker serves before the first round (full runs). */
const STEADY_STATE_REQUESTS = 30_000;
/** The same for refusals, whose flush looks every 1.5 s (REFUSAL_FLUSH_DELAY_MS): within about 3 s. */
export const REFUSAL_SETTLE_MS = 3_200;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the whole benchmark: a private stack (Redis + bridge, a throwaway Postgres database + Neon proxy,
 * the demo origin), the gateway and the bare proxy in workerd (Miniflare), the load generator in a child
 * process; then interleaved rounds of every configuration. Everything started is registered in `cleanup`.
 */
export async function runBench(
  options: BenchOptions,
  cleanup: Cleanup,
  log: (line: string) => void,
): Promise<BenchResult> {
  const startedAt = new Date();
  const root = join(import.meta.dirname, "..", "..");
  const server = new URL(options.postgresUrl);
  if (!(await isListening(server.hostname, Number(server.port || 5432)))) {
    throw new Error(
      `the benchmark needs PostgreSQL at ${server.host}: run \`bash scripts/ci-services.sh\` (starts or installs it) or set TEST_POSTGRES_URL`,
    );
  }
  const machine = await machineInfo(options.postgresUrl);

  const stateDir = join(root, ".cache", `bench-${process.pid}`);
  rmSync(stateDir, { recursive: true, force: true });
  cleanup.add("state folder", () => rmSync(stateDir, { recursive: true, force: true }));
  const databaseName = `gw_bench_${Date.now()}_${randomBytes(3).toString("hex")}`;
  const databaseUrl = await createDatabase(options.postgresUrl, databaseName);
  cleanup.add("database", () => dropDatabase(options.postgresUrl, databaseName));
  const stack = await startLocalStack({
    stateDir,
    persist: false,
    databaseUrl,
    log: (line) => log(`stack: ${line}`),
  });
  cleanup.add("local stack", () => stack.close());
  const counters = storeCounters(stack, "bench");
  const rest: RestRedis = {
    url: stack.workerVars.UPSTASH_REDIS_REST_URL as string,
    token: stack.workerVars.UPSTASH_REDIS_REST_TOKEN as string,
  };

  // Keys first (Postgres in bulk), so the workers start while nothing else competes for the CPU.
  const tiered = prepareTieredProject(root, join(stateDir, "tiered-project"), options.tierCount);
  const keys = await makeKeySets(options, tiered.tiers);
  await insertKeys(databaseUrl, Object.values(keys).flat());
  log(`keys: ${Object.values(keys).flat().length} keys and accounts inserted into Postgres`);

  const secret = () => randomBytes(24).toString("base64url");
  const gatewayVars = {
    ...stack.workerVars,
    UPSTASH_REDIS_REST_URL: counters.taggedRestUrl,
    ADMIN_TOKEN: secret(),
    ORIGIN_SHARED_SECRET: secret(),
    STRIPE_SECRET_KEY: "sk_test_bench",
    STRIPE_WEBHOOK_SECRET: `whsec_${secret()}`,
    KEY_ENVIRONMENT: "test",
    ...(options.rateLimitTimeoutMs ? { RATE_LIMIT_TIMEOUT_MS: String(options.rateLimitTimeoutMs) } : {}),
  };
  const fullLogWanted = options.concurrencies.includes(options.fullLogConcurrency);
  const passthroughConfig = join(import.meta.dirname, "passthrough.wrangler.toml");
  const runtimeOf = (file: string) => {
    const text = readFileSync(file, "utf8");
    const setting = (name: string) =>
      new RegExp(`^${name}\\s*=\\s*(.+)$`, "m").exec(text)?.[1]?.trim() ?? "none";
    return `compatibility_date ${setting("compatibility_date")}, compatibility_flags ${setting("compatibility_flags")}`;
  };
  if (runtimeOf(join(root, "wrangler.toml")) !== runtimeOf(passthroughConfig)) {
    log(
      `warning: the bare proxy's runtime settings (${runtimeOf(passthroughConfig)}) differ from the gateway's ` +
        `(${runtimeOf(join(root, "wrangler.toml"))}): align scripts/bench/passthrough.wrangler.toml`,
    );
  }
  // Each is registered for cleanup as soon as it is up, and a failure is raised only once every sibling has
  // settled, so none is left running.
  const started = (worker: BenchWorker) => {
    cleanup.add(worker.name, () => worker.stop());
    return worker;
  };
  const workers = await Promise.allSettled([
    startBenchWorker({
      name: "gateway",
      config: join(root, "wrangler.toml"),
      vars: gatewayVars,
      stateDir: join(stateDir, "gateway"),
      readyPath: "/health",
      log,
    }).then(started),
    fullLogWanted
      ? startBenchWorker({
          name: "gateway, every request logged",
          config: join(root, "wrangler.toml"),
          vars: { ...gatewayVars, ACCESS_LOG_SAMPLE_RATE: "1" },
          stateDir: join(stateDir, "gateway-full-log"),
          readyPath: "/health",
          log,
        }).then(started)
      : undefined,
    startBenchWorker({
      name: `gateway, ${options.tierCount} tiers`,
      config: tiered.config,
      vars: gatewayVars,
      stateDir: join(stateDir, "gateway-tiered"),
      readyPath: "/health",
      log,
    }).then(started),
    startBenchWorker({
      name: "bare proxy",
      config: passthroughConfig,
      vars: { ORIGIN_URL: stack.origin.url },
      stateDir: join(stateDir, "passthrough"),
      readyPath: "/__ready",
      log,
    }).then(started),
    fullLogWanted
      ? startBenchWorker({
          name: "lean proxy",
          config: join(import.meta.dirname, "lean-proxy.wrangler.toml"),
          vars: { ORIGIN_URL: stack.origin.url },
          stateDir: join(stateDir, "lean-proxy"),
          readyPath: "/__ready",
          log,
        }).then(started)
      : undefined,
    // The profile's own gateway: the only one with an inspector, which would tax the measured ones.
    options.profile
      ? startBenchWorker({
          name: "gateway, profiled",
          config: join(root, "wrangler.toml"),
          vars: gatewayVars,
          stateDir: join(stateDir, "gateway-profiled"),
          readyPath: "/health",
          inspector: true,
          log,
        }).then(started)
      : undefined,
  ]);
  const failed = workers.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
  const [gateway, fullLog, tieredGateway, passthrough, lean, profiled] = workers.map((result) =>
    result.status === "fulfilled" ? result.value : undefined,
  ) as [
    BenchWorker,
    BenchWorker | undefined,
    BenchWorker,
    BenchWorker,
    BenchWorker | undefined,
    BenchWorker | undefined,
  ];
  const load = startLoadClient();
  cleanup.add("load generator", () => load.close());
  const cpuGroups: CpuGroup[] = [
    ...workerGroups("gateway", gateway.pid),
    ...(fullLog ? workerGroups(FULL_LOG, fullLog.pid) : []),
    ...workerGroups("bare proxy", passthrough.pid),
    ...(lean ? workerGroups("lean proxy", lean.pid) : []),
    ...workerGroups(TIERED, tieredGateway.pid),
    processGroup("bench process (origin, bridge, Neon proxy)", process.pid),
    processGroup("redis-server", stack.redis?.process?.pid),
    processGroup("load generator", load.pid),
  ];
  for (const [name, set] of Object.entries(keys)) {
    await load.defineKeySet(
      name,
      set.map((key) => key.key),
    );
  }

  const urls: Record<Target, string> = {
    origin: `${stack.origin.url}/v1/hello`,
    passthrough: `${passthrough.url}/v1/hello`,
    gateway: `${gateway.url}/v1/hello`,
    fulllog: `${fullLog?.url}/v1/hello`,
    lean: `${lean?.url}/v1/hello`,
    blocked: `${gateway.url}/v1/hello`,
  };
  const phases: PhaseRecord[] = [];
  /** Each configuration's last measured rate, to size its next phase to about durationSec. */
  const lastRate = new Map<string, number>();
  /** When each key set's keys were last all sent to the gateway: its isolate forgets a key unused for 60 s. */
  const lastVisit = new Map<string, number>();
  const visitKey = (spec: { url: string; keySet?: string }) => `${spec.url} ${spec.keySet}`;
  const setSize = (name: string | undefined) => (name ? (keys[name]?.length ?? 0) : 0);

  type PhaseSpec = Omit<LoadSpec, "keepLatencies" | "amount"> & { amount?: number };

  /** Brings a configuration to steady state before it is measured. */
  async function warmUp(spec: PhaseSpec): Promise<number> {
    const size = setSize(spec.keySet);
    // A key set within the isolate cache's bound must be all in memory, as at steady state: visit every key
    // unless that happened within the last 30 s. Above the bound every request misses memory by design.
    const visited = lastVisit.get(visitKey(spec)) ?? 0;
    if (spec.keySet && size <= ISOLATE_CACHE_ENTRIES && Date.now() - visited > 30_000) {
      await load.run({
        url: spec.url,
        connections: Math.min(16, size),
        amount: size,
        keySet: spec.keySet,
        keepLatencies: false,
      });
      lastVisit.set(visitKey(spec), Date.now());
    }
    // Connections open, code paths hot, at the phase's own concurrency (unpaced).
    const warm = await load.run({
      url: spec.url,
      connections: spec.connections,
      amount: spec.connections * 2 + 20,
      keySet: spec.keySet,
      keepLatencies: false,
    });
    return warm.responses / warm.elapsedSec;
  }

  /** `server`: the gateway whose log and runtime the phase watches (the main one unless said otherwise). */
  async function measure(
    id: string,
    round: number,
    spec: PhaseSpec,
    opts: { cold?: boolean; paced?: boolean; minAmount?: number; server?: BenchWorker } = {},
  ) {
    const server = opts.server ?? gateway;
    const settle = spec.keySet === "blocked" ? REFUSAL_SETTLE_MS : SETTLE_MS;
    let amount = spec.amount;
    if (opts.paced) {
      // A paced set's steady state is its own pattern: one paced pass over every key, then the phase right
      // after it (no pause, in which leases would lapse that the steady state keeps).
      await load.run({ ...spec, amount: setSize(spec.keySet), keepLatencies: false });
    } else if (!opts.cold) {
      const warmRate = await warmUp(spec);
      const rate = lastRate.get(id) ?? warmRate;
      amount ??= Math.round(
        Math.min(200_000, Math.max(spec.connections * 20, opts.minAmount ?? 0, rate * options.durationSec)),
      );
      await sleep(settle);
    }
    if (amount === undefined) throw new Error(`phase ${id}: no amount and no warm-up to size it`);
    await counters.reset();
    const warningsBefore = server.warnings();
    const runtimeBefore = server.runtimePids();
    const cpuBefore = cpuSnapshot(cpuGroups);
    // A fixed number of requests, not a fixed time: every request sent is answered within the phase, so the
    // stores' counts divide by exactly the requests that caused them.
    const sample = await load.run({ ...spec, amount, keepLatencies: true });
    const cpuMs = cpuSince(cpuBefore, cpuSnapshot(cpuGroups));
    await sleep(settle);
    const counts = await counters.read();
    const record: PhaseRecord = {
      id,
      round,
      sample,
      counts,
      gatewayWarnings: server.warnings() - warningsBefore,
      gatewayRestarted: server.runtimePids() !== runtimeBefore,
      cpuMs,
    };
    phases.push(record);
    lastRate.set(id, sample.responses / sample.elapsedSec);
    if (spec.keySet && amount >= setSize(spec.keySet)) lastVisit.set(visitKey(spec), Date.now());
    const rt = counts.redisRoundTrips / Math.max(1, sample.responses);
    log(
      `round ${round + 1} ${id.padEnd(16)} ${String(sample.responses).padStart(7)} req ` +
        `${(sample.responses / sample.elapsedSec).toFixed(0).padStart(6)} req/s  ` +
        `p50 ${quantile(
          [...sample.latencies].sort((a, b) => a - b),
          0.5,
        ).toFixed(2)} ms  RT/req ${rt.toFixed(3)}  ` +
        `PG ${counts.pgQueries}  statuses ${JSON.stringify(sample.statuses)}`,
    );
    if (record.gatewayWarnings > 0) {
      log(
        `  ${server.name} logged ${record.gatewayWarnings} warning(s); the last: ${server.recentWarnings().at(-1)}`,
      );
    }
    if (record.gatewayRestarted) log(`  ${server.name}'s runtime restarted during this phase (caches lost)`);
    return record;
  }

  // First use: keys in neither isolate memory nor Redis, so each request looks its key up in Postgres and
  // publishes the records to Redis. Measured once, on a set of its own: reaching steady state this way for
  // every set would take one Postgres lookup per key (minutes for 100,000 keys).
  await measure(
    phaseId.cold(options.coldKeys),
    0,
    {
      url: urls.gateway,
      connections: Math.min(options.coldConnections, options.coldKeys),
      amount: options.coldKeys,
      keySet: "cold",
    },
    { cold: true },
  );
  // Every other set starts as at steady state: its records in Redis as the gateway just published the cold
  // keys' (same shape, same TTL), its keys not yet in isolate memory (each phase's warm-up visits them).
  const template = await readPublishedRecords(rest, keys.cold?.[0] as BenchKey);
  for (const [name, set] of Object.entries(keys)) {
    if (name !== "cold") await prefillRecords(rest, set, template);
  }
  log("keys: records of every other set prefilled in Redis");
  const blockedKey = keys.blocked?.[0] as BenchKey;
  await holdRateLimited(rest, blockedKey.keyId, planOf(blockedKey.tier).rateLimit, 30);

  // What the gateway's CPU goes to: a profile over an allowed phase of its own (profiling slows the worker,
  // so this phase is in no table), taken first, while nothing else has run long in the isolate.
  let profile: BenchResult["profile"];
  if (profiled?.inspectorUrl) {
    try {
      const concurrency = options.concurrencies.includes(16) ? 16 : (options.concurrencies[0] ?? 16);
      const spec = { url: `${profiled.url}/v1/hello`, connections: concurrency, keySet: "main" };
      const inspector = await inspectorTarget(profiled.inspectorUrl);
      const rate = await warmUp(spec);
      // Bounded: under a profiler a slow gateway gets slower still.
      const amount = Math.min(2_000, Math.max(200, Math.round(rate * options.durationSec)));
      const { result: sample, profile: worker } = await profileWorker(inspector, profiled.bundlePath, () =>
        load.run({ ...spec, amount, keepLatencies: false }),
      );
      profile = { concurrency, requests: sample.responses, worker };
      log(
        `profile: ${sample.responses} requests, ${(worker.activeMs / sample.responses).toFixed(3)} ms of worker CPU each`,
      );
    } catch (error) {
      // A profile explains the figures; it is not one of them. Without it the run still stands.
      log(`profile: skipped (${(error as Error).message})`);
    }
  }

  // Every worker of the hot-path table brought to the same steady state before the first round: the phases'
  // own warm-ups are a few dozen requests. In runs 8 and 9 of 2026-11-29 the bare proxy spent 0.97-1.01 ms
  // of workerd CPU a request at c=16 in round 1 and 0.63-0.70 ms after. 10,000 requests were not enough for
  // the gateway, whose code is larger for V8 to optimise: in runs 10-12 its round 1 at c=16 took 1.05-1.36 ms
  // a request and its later rounds 0.63-0.86, every time, hence 30,000. Slow moments of the machine remain
  // (run 10's bare proxy: 0.94 ms in round 3), which is why the throughput target also asks the median of the
  // rounds (targets.ts).
  for (const target of ["passthrough", "gateway", FULL_LOG, LEAN] as const) {
    if (target === FULL_LOG && !fullLog) continue;
    if (target === LEAN && !lean) continue;
    await load.run({
      url: urls[target],
      connections: 16,
      amount: options.mode === "full" ? STEADY_STATE_REQUESTS : 500,
      keySet: "main",
      keepLatencies: false,
    });
  }
  log("workers of the hot-path table at steady state");

  for (let round = 0; round < options.rounds; round++) {
    for (const [index, concurrency] of options.concurrencies.entries()) {
      for (const target of phaseOrder(
        round + index,
        fullLog !== undefined && lean !== undefined && concurrency === options.fullLogConcurrency,
      )) {
        const keySet = target === "blocked" ? "blocked" : "main";
        await measure(
          phaseId.main(target, concurrency),
          round,
          { url: urls[target], connections: concurrency, keySet },
          {
            server: target === FULL_LOG ? fullLog : gateway,
            minAmount: keySet === "main" ? options.mainKeys * options.hotRequestsPerKey : undefined,
          },
        );
      }
    }
    for (const count of rotate(options.scaleKeyCounts, round)) {
      await measure(phaseId.keys(count), round, {
        url: urls.gateway,
        connections: options.scaleConnections,
        keySet: phaseId.keys(count),
        overallRate: options.scaleRate,
        // At least 3 s: a hot key's lease ramps up over its first round trips, which must not be the phase.
        amount: Math.round(options.scaleRate * Math.max(3, options.durationSec)),
      });
    }
    // Slow keys: every key of the set about once a second, the lease of its last request lapsed or nearly.
    await measure(
      phaseId.slow(options.slowKeys),
      round,
      {
        url: urls.gateway,
        connections: options.slowConnections,
        keySet: phaseId.slow(options.slowKeys),
        overallRate: options.slowKeys,
        amount: Math.round(options.slowKeys * Math.max(3, options.durationSec)),
      },
      { paced: true },
    );
    // Both on the many-tier build, so the only difference between the two is how many tiers are in use.
    for (const tierCount of rotate([1, options.tierCount], round)) {
      await measure(
        phaseId.tiers(tierCount),
        round,
        {
          url: `${tieredGateway.url}/v1/hello`,
          connections: options.tierConnections,
          keySet: phaseId.tiers(tierCount),
        },
        { server: tieredGateway },
      );
    }
  }

  const ids = [...new Set(phases.map((phase) => phase.id))];
  return {
    schema: 1,
    mode: options.mode,
    machine,
    options: withoutUrl(options),
    tiers: tiered.tiers,
    rows: Object.fromEntries(ids.map((id) => [id, pool(id, phases)])),
    coldRowId: phaseId.cold(options.coldKeys),
    slowRowId: phaseId.slow(options.slowKeys),
    profile,
    phases: phases.map(({ sample, ...rest }) => {
      const sorted = [...sample.latencies].sort((a, b) => a - b);
      return {
        ...rest,
        responses: sample.responses,
        elapsedSec: sample.elapsedSec,
        p50Ms: quantile(sorted, 0.5),
        p99Ms: quantile(sorted, 0.99),
        statuses: sample.statuses,
      };
    }),
    startedAt: startedAt.toISOString(),
    wallSeconds: (Date.now() - startedAt.getTime()) / 1000,
  };
}

/**
 * The key sets, each key with an account of its own: the allowed hot path's pro keys, one free key to hold
 * rate-limited, the scaling sets (pro), and the tier sets: as many pro keys as the all-tiers set, which
 * interleaves the tiers so round robin alternates them.
 */
async function makeKeySets(options: BenchOptions, tiers: string[]): Promise<Record<string, BenchKey[]>> {
  const sets: Record<string, BenchKey[]> = {
    main: await makeKeys(options.mainKeys, "pro"),
    blocked: await makeKeys(1, "free"),
    cold: await makeKeys(options.coldKeys, "pro"),
  };
  for (const count of options.scaleKeyCounts) sets[phaseId.keys(count)] = await makeKeys(count, "pro");
  sets[phaseId.slow(options.slowKeys)] = await makeKeys(options.slowKeys, "pro");
  sets[phaseId.tiers(1)] = await makeKeys(options.keysPerTier * tiers.length, "pro");
  const perTier = await Promise.all(tiers.map((tier) => makeKeys(options.keysPerTier, tier)));
  sets[phaseId.tiers(tiers.length)] =
    perTier[0]?.flatMap((_, i) => perTier.map((set) => set[i] as BenchKey)) ?? [];
  return sets;
}

function planOf(tier: string) {
  return plans[tier as keyof typeof plans] ?? plans.free;
}

/**
 * The targets of one round at one concurrency, rotated every round and concurrency so no target always runs
 * first or after the same neighbour; except that the gateway runs right after or before the bare proxy (and
 * the lean one, where measured), in turns, so each ratio of the two shares the machine's state: on a shared
 * machine the speed of both moved by a third within a minute, which two phases 40 s apart turned into a
 * ratio of 0.78 one round and 1.19 the next (docs/bench/2026-11-29-8.json). `withExtras`: rows 2b and 3b too.
 */
function phaseOrder(turn: number, withExtras: boolean): Target[] {
  const proxies: Target[] = withExtras ? ["passthrough", "gateway", LEAN] : ["passthrough", "gateway"];
  const together = turn % 2 === 0 ? proxies : [...proxies].reverse();
  const others = TARGETS.filter((target) => !together.includes(target));
  const units: Target[][] = [
    together,
    ...others.map((target) => [target]),
    ...(withExtras ? [[FULL_LOG]] : []),
  ];
  return rotate(units, turn).flat();
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function withoutUrl(options: BenchOptions): Omit<BenchOptions, "postgresUrl"> {
  const { postgresUrl: _, ...rest } = options;
  return rest;
}
