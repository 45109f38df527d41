import type { StoreCounts } from "./counters.ts";
import type { LoadSample } from "./load-client.ts";

/** One measured phase: one configuration in one round. */
export interface PhaseRecord {
  /** The configuration this phase measures, e.g. "gateway@16"; rounds of the same id are pooled. */
  id: string;
  round: number;
  sample: LoadSample;
  counts: StoreCounts;
  /** Warning and error lines the gateway logged during the phase. */
  gatewayWarnings: number;
  /** wrangler restarted the gateway's runtime (new workerd, empty caches) during the phase. */
  gatewayRestarted: boolean;
  /** CPU time (ms) each process group used during the phase. */
  cpuMs: Record<string, number>;
}

/** A configuration over all its rounds. */
export interface Row {
  id: string;
  rounds: number;
  responses: number;
  reqPerSec: number;
  /** Each round's req/s, to show the spread the pooled figure hides. */
  reqPerSecByRound: number[];
  p50Ms: number;
  p99Ms: number;
  statuses: Record<string, number>;
  /** Responses that were not 2xx (429s included). */
  non2xx: number;
  errors: number;
  perRequest: { redisRoundTrips: number; redisCommands: number; pgQueries: number };
  totals: StoreCounts;
  gatewayWarnings: number;
  /** Rounds in which the gateway's runtime restarted. */
  gatewayRestarts: number;
  /** CPU ms per request, by process group (see cpu.ts). */
  cpuMsPerRequest: Record<string, number>;
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

/**
 * Pools the rounds of one configuration: req/s is all responses over all elapsed time, percentiles are
 * over every response of every round, per-request counts are all counts over all responses.
 */
export function pool(id: string, phases: PhaseRecord[]): Row {
  const mine = phases.filter((phase) => phase.id === id);
  if (mine.length === 0) throw new Error(`no phase measured ${id}`);
  const latencies = mine.flatMap((phase) => phase.sample.latencies).sort((a, b) => a - b);
  const responses = sum(mine.map((phase) => phase.sample.responses));
  const elapsed = sum(mine.map((phase) => phase.sample.elapsedSec));
  const statuses: Record<string, number> = {};
  for (const phase of mine) {
    for (const [status, count] of Object.entries(phase.sample.statuses)) {
      statuses[status] = (statuses[status] ?? 0) + count;
    }
  }
  const totals: StoreCounts = {
    redisRoundTrips: sum(mine.map((phase) => phase.counts.redisRoundTrips)),
    redisCommands: sum(mine.map((phase) => phase.counts.redisCommands)),
    pgQueries: sum(mine.map((phase) => phase.counts.pgQueries)),
    pgConnections: sum(mine.map((phase) => phase.counts.pgConnections)),
  };
  const per = (count: number) => (responses > 0 ? count / responses : Number.NaN);
  return {
    id,
    rounds: mine.length,
    responses,
    reqPerSec: responses / elapsed,
    reqPerSecByRound: mine.map((phase) => phase.sample.responses / phase.sample.elapsedSec),
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    statuses,
    non2xx: sum(Object.entries(statuses).map(([status, count]) => (status.startsWith("2") ? 0 : count))),
    errors: sum(mine.map((phase) => phase.sample.errors + phase.sample.timeouts)),
    perRequest: {
      redisRoundTrips: per(totals.redisRoundTrips),
      redisCommands: per(totals.redisCommands),
      pgQueries: per(totals.pgQueries),
    },
    totals,
    gatewayWarnings: sum(mine.map((phase) => phase.gatewayWarnings)),
    gatewayRestarts: mine.filter((phase) => phase.gatewayRestarted).length,
    cpuMsPerRequest: Object.fromEntries(
      Object.keys(mine[0]?.cpuMs ?? {}).map((group) => [
        group,
        per(sum(mine.map((phase) => phase.cpuMs[group] ?? 0))),
      ]),
    ),
  };
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
