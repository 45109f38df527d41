import { call } from "./client.ts";
import type { Observed } from "./observed.ts";

export interface Traffic {
  /** Stops sending and returns every answer, by target label. */
  stop(): Promise<Record<string, Observed[]>>;
}

/**
 * Steady background requests while a fault comes and goes, one loop per target, each request waiting for
 * the previous answer: what clients see during the outage, not just at chosen moments. Bounded in time
 * and count whatever the caller does.
 */
export function startTraffic(
  targets: Record<string, { base: string; key: string }>,
  opts: { intervalMs?: number; maxMs?: number; maxRequests?: number } = {},
): Traffic {
  const { intervalMs = 50, maxMs = 60_000, maxRequests = 1500 } = opts;
  let running = true;
  const deadline = Date.now() + maxMs;
  const answers: Record<string, Observed[]> = {};
  const loops = Object.entries(targets).map(async ([label, { base, key }]) => {
    const seen: Observed[] = [];
    answers[label] = seen;
    while (running && Date.now() < deadline && seen.length < maxRequests) {
      seen.push(await call(base, "/v1/hello", { apiKey: key, area: `traffic ${label}`, timeoutMs: 10_000 }));
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

export function statusCounts(answers: Observed[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const answer of answers) counts[answer.status] = (counts[answer.status] ?? 0) + 1;
  return counts;
}

/** Polls `probe` until it returns true; the time it took, or undefined past `maxMs`. */
export async function timeUntil(probe: () => Promise<boolean>, maxMs = 20_000): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < maxMs) {
    if (await probe()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return undefined;
}
