import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";

/** What the numbers were measured on, so runs on different machines or versions are not compared blindly. */
export interface MachineInfo {
  date: string;
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  wrangler: string;
  workerd: string;
  autocannon: string;
  redis: string;
  postgres: string;
  /** The commit measured, and whether the work tree had changes on top of it. */
  commit: string;
  dirty: boolean;
}

const root = join(import.meta.dirname, "..", "..");

export async function machineInfo(postgresUrl: string): Promise<MachineInfo> {
  return {
    date: new Date().toISOString(),
    nproc: Number(run("nproc", []) || 0),
    cpuModel: cpuModel(),
    memoryGiB: Math.round(Number(/MemTotal:\s+(\d+)/.exec(read("/proc/meminfo"))?.[1] ?? 0) / 1024 / 1024),
    node: process.version,
    wrangler: packageVersion("wrangler"),
    workerd: packageVersion("workerd"),
    autocannon: packageVersion("autocannon"),
    redis: /v=(\S+)/.exec(run("redis-server", ["--version"]))?.[1] ?? "unknown",
    postgres: await postgresVersion(postgresUrl),
    commit: run("git", ["rev-parse", "--short", "HEAD"]) || "unknown",
    dirty: run("git", ["status", "--porcelain"]) !== "",
  };
}

function cpuModel(): string {
  const names = [...read("/proc/cpuinfo").matchAll(/^model name\s*:\s*(.+)$/gm)].map((match) => match[1]);
  return names[0]?.trim() ?? "unknown";
}

function packageVersion(name: string): string {
  try {
    const file = join(root, "node_modules", name, "package.json");
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const result = await client.query<{ server_version: string }>("SHOW server_version");
    return result.rows[0]?.server_version ?? "unknown";
  } catch {
    return "unknown";
  } finally {
    await client.end().catch(() => {});
  }
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "";
  }
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
