import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** A set of processes whose CPU time is reported together, e.g. "gateway: workerd". */
export interface CpuGroup {
  name: string;
  /** The processes now in the group (re-read at every snapshot: wrangler may restart workerd). */
  pids(): number[];
}

/** CPU time (user + system, ms) each group has used since its processes started. */
export type CpuSnapshot = Record<string, number>;

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  pid: number;
  comm: string;
  pgrp: number;
  cpuMs: number;
}

/** /proc/PID/stat of every process (Linux); empty elsewhere, and the CPU columns then read 0. */
function allProcesses(): ProcStat[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // comm may contain spaces and parentheses: the fields after it start after the LAST ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.push({
        pid: Number(entry),
        comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
        pgrp: Number(fields[2]),
        cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND,
      });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** The pids of `comm` processes (e.g. "workerd") in process group `groupId`, sorted. */
export function groupMembers(groupId: number | undefined, comm: string): number[] {
  return allProcesses()
    .filter((p) => p.pgrp === groupId && p.comm === comm)
    .map((p) => p.pid)
    .sort((a, b) => a - b);
}

/**
 * The groups of one worker's process group: its workerd, and the Node launcher (Miniflare) that started it
 * and receives its log lines, as a production runtime's log pipeline would.
 */
export function workerGroups(name: string, groupId: number | undefined): CpuGroup[] {
  const members = (kind: "workerd" | "launcher") => () =>
    allProcesses()
      .filter((p) => p.pgrp === groupId && (p.comm === "workerd") === (kind === "workerd"))
      .map((p) => p.pid);
  return [
    { name: `${name}: workerd`, pids: members("workerd") },
    { name: `${name}: launcher`, pids: members("launcher") },
  ];
}

export function processGroup(name: string, pid: number | undefined): CpuGroup {
  return { name, pids: () => (pid === undefined ? [] : [pid]) };
}

export function cpuSnapshot(groups: CpuGroup[]): CpuSnapshot {
  const byPid = new Map(allProcesses().map((p) => [p.pid, p.cpuMs]));
  return Object.fromEntries(
    groups.map((group) => [
      group.name,
      group.pids().reduce((total, pid) => total + (byPid.get(pid) ?? 0), 0),
    ]),
  );
}

export function cpuSince(before: CpuSnapshot, after: CpuSnapshot): CpuSnapshot {
  return Object.fromEntries(
    Object.entries(after).map(([name, ms]) => [name, Math.max(0, ms - (before[name] ?? 0))]),
  );
}
