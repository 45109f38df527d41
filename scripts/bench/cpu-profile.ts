import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { WebSocket } from "ws";

/** Self time of one function (or one module) in a CPU profile of the worker. */
export interface ProfileEntry {
  name: string;
  selfMs: number;
  share: number;
}

export interface WorkerProfile {
  /** Sampled time the worker was busy (idle time left out), ms. */
  activeMs: number;
  /** Sampled time by source module (the bundle's `// path` markers), largest first. */
  modules: ProfileEntry[];
  /** Sampled time by function (`name module:line`), largest first. */
  functions: ProfileEntry[];
}

/** V8's default interval (1 ms) is coarse for requests of a few ms; much finer floods the inspector. */
const SAMPLING_INTERVAL_US = 250;
/** The most one sample may stand for: a few intervals, for a sampler that fired a little late. */
const MAX_SAMPLE_WEIGHT_US = 4 * SAMPLING_INTERVAL_US;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The worker's inspector target on workerd's inspector (which also lists Miniflare's own workers). */
export async function inspectorTarget(inspectorUrl: string): Promise<string> {
  const response = await fetch(`${inspectorUrl}/json`, { signal: AbortSignal.timeout(5000) });
  const targets = (await response.json()) as Array<{ id?: string; webSocketDebuggerUrl?: string }>;
  const target = targets.find((t) => t.id?.startsWith("core:user:"))?.webSocketDebuggerUrl;
  if (!target) throw new Error("the worker's inspector lists no target");
  return target;
}

/**
 * Records a CPU profile of the worker through workerd's V8 inspector while `during` runs, and attributes
 * the sampled time to the bundle's source modules and functions. This is how the benchmark says what the
 * gateway's CPU goes to, not only how much there is.
 */
export async function profileWorker<T>(
  target: string,
  bundlePath: string,
  during: () => Promise<T>,
): Promise<{ result: T; profile: WorkerProfile }> {
  const socket = new WebSocket(target);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("inspector: no connection in 10 s")), 10_000);
    socket.once("open", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("error", reject);
  });
  let nextId = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  // A stuck inspector must not stall the whole benchmark: every call has a deadline. (wrangler relays the
  // inspector through a worker of its own, which falls far behind when the gateway logs on every request.)
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`inspector: ${method} got no answer in 20 s`)), 20_000);
      waiting.set(id, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      socket.send(JSON.stringify({ id, method, params }));
    });
  // The profile names scripts by file name (index.js): the bundle built for this run, read from disk.
  const sources = new Map([[basename(bundlePath), readFileSync(bundlePath, "utf8")]]);
  try {
    await call("Profiler.enable");
    await call("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
    await call("Profiler.start");
    const result = await during();
    const { profile } = (await call("Profiler.stop")) as { profile: Profile };
    return { result, profile: summarize(profile, sources) };
  } finally {
    socket.close();
  }
}

function summarize(profile: Profile, sources: Map<string, string>): WorkerProfile {
  const selfUs = new Map<number, number>();
  profile.samples.forEach((nodeId, index) => {
    // A gap far longer than the sampling interval is time the sampler did not run (workerd had no JS to
    // run), not time spent in the sample after it: one such gap once put 0.5 s on a 5 µs function.
    const weight = Math.min(profile.timeDeltas[index] ?? 0, MAX_SAMPLE_WEIGHT_US);
    selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + weight);
  });
  const modulesOf = moduleMapper(sources);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const ownModule = (node: ProfileNode) =>
    node.callFrame.url ? modulesOf(node.callFrame.url, node.callFrame.lineNumber) : undefined;
  /** A native function (fetch, URL, crypto, ...) is counted with the nearest JavaScript module that called it. */
  const callerModule = (node: ProfileNode): string => {
    for (let at: ProfileNode | undefined = node; at; at = nodes.get(parents.get(at.id) ?? -1)) {
      const module = ownModule(at);
      if (module) return module;
    }
    return `(${node.callFrame.functionName || "native"})`;
  };
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    // Idle is the isolate waiting for I/O: not a cost.
    if (us === 0 || node.callFrame.functionName === "(idle)") continue;
    total += us;
    const module = callerModule(node);
    byModule.set(module, (byModule.get(module) ?? 0) + us);
    const name = `${node.callFrame.functionName || "(anonymous)"} ${ownModule(node) ?? "(native)"}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  }
  const entries = (map: Map<string, number>) =>
    [...map.entries()]
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: total ? us / total : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs);
  // The long tail says little and would bloat the JSON.
  return {
    activeMs: total / 1000,
    modules: entries(byModule).slice(0, 40),
    functions: entries(byFunction).slice(0, 60),
  };
}

/**
 * wrangler bundles with esbuild, which marks each module's code with a `// path` comment line; a bundle line
 * belongs to the last marker above it.
 */
function moduleMapper(sources: Map<string, string>): (url: string, line: number) => string {
  const markers = new Map<string, Array<{ line: number; module: string }>>();
  for (const [url, source] of sources) {
    const list: Array<{ line: number; module: string }> = [];
    source.split("\n").forEach((text, line) => {
      const match = /^\/\/ ([\w@.][^\s]*\.[cm]?[jt]sx?)$/.exec(text);
      if (match?.[1]) list.push({ line, module: shorten(match[1]) });
    });
    markers.set(url, list);
  }
  return (url, line) => {
    const list = markers.get(url);
    if (!list?.length) return url;
    // Above the first marker: esbuild's helpers (__name, __export, ...) that every module calls.
    let found = `${url} (bundle helpers)`;
    for (const marker of list) {
      if (marker.line > line) break;
      found = marker.module;
    }
    return found;
  };
}

/** node_modules/.pnpm/x/node_modules/@scope/pkg/dist/a.js -> @scope/pkg/dist/a.js */
function shorten(path: string): string {
  const index = path.lastIndexOf("node_modules/");
  return index >= 0 ? path.slice(index + "node_modules/".length) : path;
}
