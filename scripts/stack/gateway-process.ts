import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freePort, waitForHttpOk } from "./net.ts";

export interface GatewayProcessOptions {
  /** For messages, e.g. "gateway-a". */
  name: string;
  /** Every var and secret the worker gets (an env file of the run's own: nothing is read from .dev.vars). */
  vars: Record<string, string>;
  /** A folder of its own (under .cache/) for --persist-to and the empty env file. */
  stateDir: string;
  /** Every line wrangler and the worker print is appended here (for log scans), when set. */
  logFile?: string;
  /** Default: a free port. A fixed port lets a restarted gateway keep its address. */
  port?: number;
  /** The wrangler config; default the project's wrangler.toml. */
  config?: string;
  /** Answers 200 once the worker is up; default /health. */
  readyPath?: string;
  /** wrangler's own --log-level; default info (one line per request, which log scans want to see). */
  logLevel?: "debug" | "info" | "warn" | "error";
  /**
   * A bundle from buildWorkerBundle(), run as is (--no-bundle). Without it wrangler bundles src/ itself and
   * rebuilds, restarting the worker, whenever a file there changes, which a long test run must not see.
   */
  bundle?: string;
}

export interface GatewayProcess {
  name: string;
  url: string;
  port: number;
  /** The last lines printed, for error messages. */
  recentOutput(): string[];
  /** Stops wrangler and its workerd (the whole process group); safe to call twice. */
  stop(): Promise<void>;
  /**
   * SIGKILL to wrangler and its workerd at once, as a crash or an evicted machine ends an isolate: no
   * shutdown, no waitUntil. Resolves once wrangler has exited; safe to call twice, and with stop().
   */
  kill(): Promise<void>;
}

const root = join(import.meta.dirname, "..", "..");
const WRANGLER_BIN = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const HOST = "127.0.0.1";
const KEPT_LINES = 80;
/** wrangler's and miniflare's own calls out (telemetry, the update check, Request.cf data): none. */
const OFFLINE_ENV = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

/**
 * Bundles the worker once, as `wrangler deploy` would, into `outDir` (no upload: --dry-run) and returns the
 * entry file for startGatewayProcess's `bundle`: several processes then run the very same build.
 */
export async function buildWorkerBundle(
  outDir: string,
  config = join(root, "wrangler.toml"),
): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const child = spawn(
    process.execPath,
    [WRANGLER_BIN, "deploy", "--dry-run", "--outdir", outDir, "--config", config],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...OFFLINE_ENV } },
  );
  let output = "";
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`wrangler deploy --dry-run exited with ${code}:\n${output.slice(-2000)}`);
  // The bundle is named after the config's `main` (index.js, passthrough-worker.js, ...).
  const bundle = readdirSync(outDir).find((name) => /\.m?js$/.test(name));
  if (!bundle) throw new Error(`wrangler deploy --dry-run wrote no bundle into ${outDir}`);
  return join(outDir, bundle);
}

/**
 * Runs the gateway as `npm run dev` does (`wrangler dev`, real workerd, real sockets) on a loopback port, and
 * waits until it answers. wrangler starts workerd as its own child, so it runs in a process group of its own
 * (detached) that stop() signals as a whole; an exit hook kills the group too if this process ends first,
 * so a crashed test run leaves nothing behind. Throws with wrangler's last lines when it does not start.
 */
export async function startGatewayProcess(opts: GatewayProcessOptions): Promise<GatewayProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (error) {
      // A port probed free can be taken before wrangler binds it (an outgoing connection's local port comes
      // from the same range): start again on newly probed ports (a fixed one may just be slow to free).
      const taken = /Address already in use/.test((error as Error).message);
      if (!taken || attempt >= PORT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Starts this many times before a port collision fails the start. */
const PORT_ATTEMPTS = 3;

async function startOnce(opts: GatewayProcessOptions): Promise<GatewayProcess> {
  mkdirSync(opts.stateDir, { recursive: true });
  // The worker's vars and secrets go in an env file of this run (owner-only), not on wrangler's command line,
  // where `ps` would show them; an explicit file also keeps wrangler from loading the developer's .dev.vars.
  const envFile = join(opts.stateDir, "worker.env");
  writeFileSync(envFile, envFileText(opts.vars), { mode: 0o600 });
  const port = opts.port ?? (await freePort(HOST));
  // Two wranglers on the default inspector port would collide.
  const inspectorPort = await freePort(HOST);
  const args = [
    WRANGLER_BIN,
    "dev",
    ...(opts.bundle ? [opts.bundle, "--no-bundle"] : []),
    "--config",
    opts.config ?? join(root, "wrangler.toml"),
    "--ip",
    HOST,
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    join(opts.stateDir, "state"),
    "--env-file",
    envFile,
    "--show-interactive-dev-session=false",
    "--log-level",
    opts.logLevel ?? "info",
  ];
  const child = spawn(process.execPath, args, {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...OFFLINE_ENV },
  });
  const killOnExit = () => signalGroup(child, "SIGKILL");
  process.once("exit", killOnExit);

  const logFile = opts.logFile ? createWriteStream(opts.logFile, { flags: "a" }) : undefined;
  const recent: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    // Always drained: a full pipe would stall workerd's logging and with it the worker.
    createInterface({ input: stream }).on("line", (line) => {
      logFile?.write(`${line}\n`);
      recent.push(line);
      if (recent.length > KEPT_LINES) recent.shift();
    });
  }

  let stopped: Promise<void> | undefined;
  const released = async () => {
    process.off("exit", killOnExit);
    await new Promise<void>((resolve) => (logFile ? logFile.end(resolve) : resolve()));
  };
  const handle: GatewayProcess = {
    name: opts.name,
    url: `http://${HOST}:${port}`,
    port,
    recentOutput: () => [...recent],
    stop() {
      stopped ??= stopProcessGroup(child).then(released);
      return stopped;
    },
    kill() {
      stopped ??= killProcessGroup(child).then(released);
      return stopped;
    },
  };
  try {
    await waitForHttpOk(`${handle.url}${opts.readyPath ?? "/health"}`, () =>
      exitText(child, `${opts.name}: wrangler dev`),
    );
  } catch (error) {
    await handle.stop();
    throw new Error(`${(error as Error).message}\n${recent.slice(-20).join("\n")}`);
  }
  return handle;
}

/** How the child ended (for an error message), or undefined while it runs. */
export function exitText(child: ChildProcess, what: string): string | undefined {
  if (child.exitCode === null && child.signalCode === null) return undefined;
  return `${what} exited (${child.exitCode ?? child.signalCode})`;
}

/**
 * Dotenv lines, each value double-quoted. A value dotenv would not carry as is (quotes, backslashes, newlines,
 * or `$`, which wrangler's dotenv-expand would substitute) is refused rather than silently changed.
 */
export function envFileText(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([key, value]) => {
      if (/["\\\r\n$]/.test(value)) throw new Error(`${key}: its value cannot go in an env file as is`);
      return `${key}="${value}"\n`;
    })
    .join("");
}

export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

/** SIGKILL to the group at once; resolves when the group's leader has exited. */
export async function killProcessGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    signalGroup(child, "SIGKILL");
    await exited;
  }
}

/** SIGTERM to the group, SIGKILL after 5 s, then SIGKILL again for a workerd that outlived wrangler. */
export async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    signalGroup(child, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
  signalGroup(child, "SIGKILL");
}
