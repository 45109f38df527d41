import { type BenchResult, ISOLATE_CACHE_ENTRIES, phaseId } from "./run.ts";
import type { Row } from "./stats.ts";

/**
 * What a smoke run must show for the benchmark's counters to be trusted: every allowed request admitted and
 * counted at about one Redis round trip, blocked requests answered mostly from memory, Postgres reached on a
 * key's first use and never after, and nothing counted for the targets that do not use the stores.
 * Returns the problems found (empty: sane).
 */
export function smokeProblems(result: BenchResult): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, message: string) => {
    if (!ok) problems.push(message);
  };
  const get = (id: string): Row | undefined => {
    const row = result.rows[id];
    check(row !== undefined, `${id}: not measured`);
    return row;
  };
  const admittedOnce = (row: Row) => {
    const trips = row.totals.redisRoundTrips;
    check(row.non2xx === 0 && row.errors === 0, `${row.id}: ${row.non2xx} non-2xx, ${row.errors} errors`);
    // One batch per request; after-response work adds at most the flush once traffic stops and one held
    // flush per round (usage.ts MAX_FLUSH_HOLD_MS), never one per request.
    check(
      trips >= row.responses && trips <= row.responses + 2 * row.rounds,
      `${row.id}: ${trips} Redis round trips for ${row.responses} requests (want one each, + at most ${2 * row.rounds})`,
    );
    check(row.totals.pgQueries === 0, `${row.id}: ${row.totals.pgQueries} Postgres queries at steady state`);
  };

  for (const concurrency of result.options.concurrencies) {
    for (const target of ["origin", "passthrough"] as const) {
      const row = get(phaseId.main(target, concurrency));
      if (!row) continue;
      check(row.non2xx === 0 && row.errors === 0, `${row.id}: ${row.non2xx} non-2xx, ${row.errors} errors`);
      check(
        row.totals.redisRoundTrips === 0 && row.totals.pgQueries === 0,
        `${row.id}: the stores counted traffic that is not the gateway's`,
      );
    }
    const allowed = get(phaseId.main("gateway", concurrency));
    if (allowed) admittedOnce(allowed);
    if (concurrency === result.options.quietConcurrency) {
      const quiet = get(phaseId.main("quiet", concurrency));
      if (quiet) admittedOnce(quiet);
    }
    const blocked = get(phaseId.main("blocked", concurrency));
    if (blocked) {
      const refused = (blocked.statuses["429"] ?? 0) / Math.max(1, blocked.responses);
      check(refused >= 0.99, `${blocked.id}: only ${(refused * 100).toFixed(1)}% answered 429`);
      // One re-check a second while the block lasts, plus the usage flush: none per refused request.
      const seconds = blocked.responses / blocked.reqPerSec;
      const allowance = Math.ceil(seconds) + 2 * blocked.rounds;
      check(
        blocked.totals.redisRoundTrips <= allowance,
        `${blocked.id}: ${blocked.totals.redisRoundTrips} Redis round trips for ${blocked.responses} refusals in ${seconds.toFixed(1)} s (want <= ${allowance})`,
      );
      check(blocked.totals.pgQueries === 0, `${blocked.id}: ${blocked.totals.pgQueries} Postgres queries`);
    }
  }
  for (const count of result.options.scaleKeyCounts) {
    const row = get(phaseId.keys(count));
    if (row && count <= ISOLATE_CACHE_ENTRIES) admittedOnce(row);
  }
  for (const tierCount of [1, result.tiers.length]) {
    const row = get(phaseId.tiers(tierCount));
    if (row) admittedOnce(row);
  }
  const cold = get(result.coldRowId);
  if (cold) {
    check(cold.non2xx === 0, `${cold.id}: ${cold.non2xx} non-2xx on first use`);
    check(
      cold.perRequest.pgQueries >= 0.9,
      `${cold.id}: ${cold.perRequest.pgQueries.toFixed(3)} Postgres queries per first use (want >= 0.9: is the proxy counting?)`,
    );
  }
  return problems;
}
