import { copyFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildWorkerBundle, type GatewayProcess, startGatewayProcess } from "../stack/gateway-process.ts";

export interface BenchWorkerOptions {
  /** For log lines and error messages, e.g. "gateway". */
  name: string;
  /** The wrangler config file of the worker. */
  config: string;
  /** Every binding the worker needs, passed with --var (nothing is read from .dev.vars). */
  vars: Record<string, string>;
  /** A folder of its own (under .cache/). */
  stateDir: string;
  /** A path on the worker that answers 200 once it is up. */
  readyPath: string;
  log: (line: string) => void;
}

/** A worker under `wrangler dev`, watched for what the benchmark reports beside its figures. */
export interface BenchWorker extends GatewayProcess {
  /** The bundle the worker runs, for attributing a CPU profile to source modules. */
  bundlePath: string;
  /** The pids of its workerd processes: a change means wrangler restarted the runtime (caches lost). */
  runtimePids(): string;
  /** Warning and error lines printed since start (the worker's own JSON logs and wrangler's). */
  warnings(): number;
  /** The last warning and error lines, for the phase log. */
  recentWarnings(): string[];
}

// Harmless offline noise: workerd cannot fetch Cloudflare's request.cf data, nor wrangler its telemetry.
const NOISE = /Request\.cf|cf\.json|workers\.cloudflare\.com|GetAddrInfoReqWrap|telemetry/;
const WARNING = /"level":"(warn|error)"|\[ERROR\]|\[WARNING\]|✘/;

/**
 * Builds the worker once (the production bundle) and serves it with `wrangler dev --no-bundle` through the
 * same launcher the reliability suite uses. wrangler dev restarts a worker whose config file changes, so it
 * gets a copy nobody edits: the run measures one build from start to end. wrangler's own per-request log
 * lines are off (--log-level warn): at thousands a second they cost CPU no production worker spends.
 */
export async function startBenchWorker(opts: BenchWorkerOptions): Promise<BenchWorker> {
  mkdirSync(opts.stateDir, { recursive: true });
  const bundlePath = await buildWorkerBundle(join(opts.stateDir, "build"), opts.config);
  const config = join(opts.stateDir, "wrangler.toml");
  copyFileSync(opts.config, config);
  let warnings = 0;
  const warningLines: string[] = [];
  const worker = await startGatewayProcess({
    name: opts.name,
    vars: opts.vars,
    stateDir: opts.stateDir,
    config,
    bundle: bundlePath,
    readyPath: opts.readyPath,
    logLevel: "warn",
    onLine(line) {
      if (NOISE.test(line) || !WARNING.test(line)) return;
      warnings++;
      warningLines.push(line);
      if (warningLines.length > 5) warningLines.shift();
    },
  });
  opts.log(`${opts.name}: wrangler dev on ${worker.url}`);
  return {
    ...worker,
    bundlePath,
    runtimePids: () => runtimePids(worker.pid),
    warnings: () => warnings,
    recentWarnings: () => [...warningLines],
  };
}

function runtimePids(groupId: number | undefined): string {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === groupId && stat.includes("(workerd)")) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids.sort((a, b) => a - b).join(",");
}
