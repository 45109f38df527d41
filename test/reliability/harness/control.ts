import { env } from "./environment.ts";
import { countFault } from "./figures.ts";
import type { OriginRecord } from "./recording-origin.ts";

/** The test files' side of control-server.ts. */
async function control<T>(method: "GET" | "POST", path: string): Promise<T> {
  const response = await fetch(`${env.control.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${env.control.token}` },
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`control ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export type Service = "redis" | "postgres" | "origin";

/** Takes a service away (counted as an injected fault). */
export async function stopService(service: Service): Promise<void> {
  countFault();
  await control("POST", `/faults/${service}/stop`);
}

export async function startService(service: Service): Promise<void> {
  await control("POST", `/faults/${service}/start`);
}

/** Requests the origin received from seq `from` on. */
export function originRecords(from = 0): Promise<{ next: number; records: OriginRecord[] }> {
  return control("GET", `/read/origin?from=${from}`);
}

export async function decoyHits(): Promise<number> {
  return (await control<{ hits: number }>("GET", "/read/decoy")).hits;
}

/** Makes the Upstash bridge hold every reply `ms` (0 ends it): a slow Redis (counted as a fault when > 0). */
export async function setBridgeDelay(ms: number): Promise<void> {
  if (ms > 0) countFault();
  const response = await fetch(`${env.bridge.url}/__bridge/delay?ms=${ms}`, {
    method: "POST",
    headers: { authorization: `Bearer ${env.bridge.token}` },
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`bridge delay: ${response.status} ${await response.text()}`);
}
