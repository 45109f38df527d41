// Runs one bundled worker in workerd through Miniflare (the runtime `wrangler dev` uses), without wrangler's
// dev tooling: no proxy worker in front, no DevTools session relaying every console line to a terminal.
// What is left is what production has, one workerd serving the worker, whose log lines go to its output.
// Started by scripts/bench/bench-worker.ts as a process of its own, which writes the launch spec (JSON) to its
// standard input; prints one JSON line {"url": ...} when ready, and disposes of workerd on SIGTERM / SIGINT.
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { parse } from "smol-toml";

interface LaunchSpec {
  name: string;
  bundle: string;
  /** The worker's wrangler config: its compatibility date and flags are the worker's runtime. */
  config: string;
  vars: Record<string, string>;
  host: string;
  port: number;
  /** Only for the profiled worker (bench-worker.ts says why). */
  inspectorPort?: number;
}

// On standard input, not the command line: the bindings include secrets, and argv is public to `ps`.
const spec = JSON.parse(readFileSync(0, "utf8")) as LaunchSpec;
const config = parse(readFileSync(spec.config, "utf8")) as {
  compatibility_date?: string;
  compatibility_flags?: string[];
  vars?: Record<string, string>;
};
// Miniflare 5 (a beta, pinned by wrangler) takes a new options shape; the converter accepts the documented
// v4 one.
const options = convertV4MiniflareOptions({
  name: spec.name,
  modules: true,
  scriptPath: spec.bundle,
  // Module names are paths relative to this root, which must hold the bundle.
  modulesRoot: dirname(spec.bundle),
  compatibilityDate: config.compatibility_date,
  compatibilityFlags: config.compatibility_flags ?? [],
  // The config's [vars] with the run's own on top, as `wrangler dev --var` would have them.
  bindings: { ...config.vars, ...spec.vars },
  host: spec.host,
  port: spec.port,
  ...(spec.inspectorPort ? { inspectorPort: spec.inspectorPort } : {}),
  // No Request.cf download (offline machines); the worker reads nothing from it.
  cf: false,
  // Production ships log lines off the machine; here they would cross two Node processes (this one, then
  // the benchmark's reader) on the cores the worker runs on: about 0.1 ms of CPU per logged request,
  // measured, more than some gateways' whole work. Only what the benchmark counts is passed on: warnings
  // and errors. The worker still formats and writes every line, as it would on the edge.
  handleStructuredLogs: ({ level, message }: { level: string; message: string }) => {
    if (level === "warn" || level === "error") console.error(message);
  },
});
const worker = new Miniflare(options);
const url = await worker.ready;
console.log(JSON.stringify({ url: url.origin }));

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await worker.dispose().catch(() => {});
  process.exit(0);
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
