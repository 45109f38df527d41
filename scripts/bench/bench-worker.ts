import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { buildWorkerBundle, exitText, signalGroup, stopProcessGroup } from "../stack/gateway-process.ts";
import { freePort, waitForHttpOk } from "../stack/net.ts";
import { groupMembers } from "./cpu.ts";

export interface BenchWorkerOptions {
  /** For log lines and error messages, e.g. "gateway". */
  name: string;
  /** The worker's wrangler config: what it bundles, and its compatibility date and flags. */
  config: string;
  /** Every binding the worker needs (nothing is read from .dev.vars). */
  vars: Record<string, string>;
  /** A folder of its own (under .cache/) for the bundle. */
  stateDir: string;
  /** A path on the worker that answers 200 once it is up. */
  readyPath: string;
  /**
   * Open workerd's V8 inspector (for a CPU profile). Only the profiled worker has one: with an inspector
   * listening, even with no client attached, workerd spent about 0.05 ms more CPU on each console.log line
   * (measured: the same gateway with and without, one run), and production workers have none.
   */
  inspector?: boolean;
  log: (line: string) => void;
}

/** A worker under test: one workerd, started by scripts/bench/miniflare-launcher.ts. */
export interface BenchWorker {
  name: string;
  url: string;
  /** The launcher's pid, which is also the id of the process group of the launcher and its workerd. */
  pid: number | undefined;
  /** workerd's V8 inspector (listening; attached to only by the profile phase), when asked for. */
  inspectorUrl?: string;
  /** The bundle the worker runs, for attributing a CPU profile to source modules. */
  bundlePath: string;
  /** The pids of its workerd processes: a change means the runtime restarted (caches lost). */
  runtimePids(): string;
  /** Warning and error lines printed since start (the worker's own JSON logs and the runtime's). */
  warnings(): number;
  /** The last warning and error lines, for the phase log. */
  recentWarnings(): string[];
  /** Stops the launcher and its workerd (the whole process group). */
  stop(): Promise<void>;
}

const root = join(import.meta.dirname, "..", "..");
const LAUNCHER = join(import.meta.dirname, "miniflare-launcher.ts");
const HOST = "127.0.0.1";
// Harmless offline noise: workerd cannot fetch Cloudflare's request.cf data.
const NOISE = /Request\.cf|cf\.json|workers\.cloudflare\.com|GetAddrInfoReqWrap/;
const WARNING = /"level":"(warn|error)"|\[ERROR\]|\[WARNING\]|✘|Uncaught|uncaught/;

/**
 * Builds the worker as `wrangler deploy` would (the production bundle) and runs that file in workerd through
 * Miniflare, in a process group of its own. Not `wrangler dev`: its proxy worker (a second workerd in front)
 * and its DevTools session, which carries every console line of the worker to wrangler's terminal, cost
 * more CPU per request than the gateway's own work, and production has neither. Every worker of a run is
 * started the same way, so the comparison stays like for like.
 */
export async function startBenchWorker(opts: BenchWorkerOptions): Promise<BenchWorker> {
  mkdirSync(opts.stateDir, { recursive: true });
  const bundlePath = await buildWorkerBundle(join(opts.stateDir, "build"), opts.config);
  const port = await freePort(HOST);
  const inspectorPort = opts.inspector ? await freePort(HOST) : undefined;
  const spec = {
    name: opts.name.replace(/[^a-z0-9-]+/gi, "-"),
    bundle: bundlePath,
    config: opts.config,
    vars: opts.vars,
    host: HOST,
    port,
    inspectorPort,
  };
  const child = spawn(process.execPath, [LAUNCHER], {
    cwd: root,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin.end(JSON.stringify(spec));
  const killOnExit = () => signalGroup(child, "SIGKILL");
  process.once("exit", killOnExit);

  const recent: string[] = [];
  const warningLines: string[] = [];
  let warnings = 0;
  for (const stream of [child.stdout, child.stderr]) {
    // Always drained: a full pipe would stall workerd's logging and with it the worker.
    createInterface({ input: stream }).on("line", (line) => {
      if (NOISE.test(line)) return;
      recent.push(line);
      if (recent.length > 40) recent.shift();
      if (!WARNING.test(line)) return;
      warnings++;
      warningLines.push(line);
      if (warningLines.length > 5) warningLines.shift();
    });
  }
  let stopped: Promise<void> | undefined;
  const worker: BenchWorker = {
    name: opts.name,
    url: `http://${HOST}:${port}`,
    pid: child.pid,
    inspectorUrl: inspectorPort ? `http://${HOST}:${inspectorPort}` : undefined,
    bundlePath,
    runtimePids: () => groupMembers(child.pid, "workerd").join(","),
    warnings: () => warnings,
    recentWarnings: () => [...warningLines],
    stop() {
      stopped ??= stopProcessGroup(child).then(() => {
        process.off("exit", killOnExit);
      });
      return stopped;
    },
  };
  try {
    await waitForHttpOk(`${worker.url}${opts.readyPath}`, () => exitText(child, "the launcher"));
  } catch (error) {
    await worker.stop();
    throw new Error(`${opts.name}: ${(error as Error).message}\n${recent.slice(-20).join("\n")}`);
  }
  opts.log(`${opts.name}: workerd (Miniflare) on ${worker.url}`);
  return worker;
}
