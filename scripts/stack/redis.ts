import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { Redis } from "ioredis";
import { freePort, waitForPort } from "./net.ts";

export interface RunningRedis {
  /** redis:// URL a client can connect to. */
  url: string;
  /** Set when this process started the server (so it can stop and restart it, e.g. in fault tests). */
  process?: ChildProcess;
  stop(): Promise<void>;
}

/** True when a redis-server binary is on PATH. */
export function hasRedisServer(): boolean {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** True when a Redis at `url` answers PING within a short timeout. */
export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0 });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Starts a private redis-server on a free loopback port, its files under `dataDir`.
 * `persist` keeps an append-only file, fsynced every second, as Upstash persists: what Redis acknowledged
 * survives a killed redis-server (the file is written before the reply; only a machine crash can lose the
 * last second). Dev and the reliability suite (which kills Redis mid-load) persist; worker tests do not.
 */
export async function startRedisServer(opts: {
  dataDir: string;
  persist: boolean;
  port?: number;
}): Promise<RunningRedis> {
  mkdirSync(opts.dataDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const args = ["--bind", "127.0.0.1", "--port", String(port), "--dir", opts.dataDir, "--save", ""];
  args.push("--appendonly", opts.persist ? "yes" : "no", "--appendfsync", "everysec");
  args.push("--protected-mode", "yes", "--loglevel", "warning");
  const child = spawn("redis-server", args, { stdio: ["ignore", "ignore", "inherit"] });
  await waitForPort("127.0.0.1", port, "redis-server");
  return {
    url: `redis://127.0.0.1:${port}`,
    process: child,
    stop: () => stopChild(child),
  };
}

/** Sends SIGTERM and waits for the child to exit (SIGKILL after 5 s). */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
