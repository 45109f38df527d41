import { env } from "./environment.ts";
import { countFault } from "./figures.ts";
import type { OriginRecord } from "./recording-origin.ts";

/** The test files' side of control-server.ts. */
async function control<T>(method: "GET" | "POST", path: string, timeoutMs = 30_000): Promise<T> {
  const response = await fetch(`${env.control.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${env.control.token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`control ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** `killable` is the gateway process env.gateways.killable. */
export type Service = "redis" | "postgres" | "origin" | "killable";

/** Takes a service away (counted as an injected fault). */
export async function stopService(service: Service): Promise<void> {
  countFault();
  await control("POST", `/faults/${service}/stop`);
}

/**
 * Takes a service away as a crash would (counted as an injected fault): SIGKILL for redis-server (which comes
 * back from its append-only file) and the killable gateway (wrangler and workerd: isolate memory is lost).
 */
export async function killService(service: "redis" | "killable"): Promise<void> {
  countFault();
  await control("POST", `/faults/${service}/kill`);
}

/** Gives a service back; a gateway process is back once it answers, which takes a while on a busy machine. */
export async function startService(service: Service): Promise<void> {
  await control("POST", `/faults/${service}/start`, service === "killable" ? 150_000 : 30_000);
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
