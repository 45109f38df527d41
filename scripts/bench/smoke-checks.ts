import { type BenchResult, FULL_LOG, phaseId } from "./run.ts";
import type { Row } from "./stats.ts";
import {
  BUDGETS,
  hotRows,
  perKeyRate,
  slowRoundTripFloor,
  slowRows,
  withinBlockedBudget,
  withinHotBudget,
} from "./targets.ts";

/**
 * What a smoke run must show for the hot path's Redis budgets (issue 13) and the benchmark's counters to
 * hold: hot keys admitted from leases at <= 0.05 round trips and <= 0.2 commands per request, slow keys at
 * <= 2 round trips (a lease, a usage flush), blocked requests answered from memory, Postgres reached on a
 * key's first use and never after, and nothing counted for the targets that do not use the stores.
 * Only counts are checked, never times: a loaded machine sends fewer requests a second, which moves none
 * of these (a hot phase is sized in requests per key, so even a slow run keeps its keys hot enough).
 * Returns the problems found (empty: the budgets hold).
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
  const allAdmitted = (row: Row) => {
    check(row.non2xx === 0 && row.errors === 0, `${row.id}: ${row.non2xx} non-2xx, ${row.errors} errors`);
    check(row.totals.pgQueries === 0, `${row.id}: ${row.totals.pgQueries} Postgres queries at steady state`);
  };
  const cost = (row: Row) =>
    `${row.totals.redisRoundTrips} round trips and ${row.totals.redisCommands} commands for ${row.responses} requests ` +
    `(${row.perRequest.redisRoundTrips.toFixed(3)} / ${row.perRequest.redisCommands.toFixed(3)} each, ` +
    `${perKeyRate(result, row).toFixed(1)} req/s per key)`;

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
    get(phaseId.main("gateway", concurrency));
    if (concurrency === result.options.fullLogConcurrency) get(phaseId.main(FULL_LOG, concurrency));
    const blocked = get(phaseId.main("blocked", concurrency));
    if (blocked) {
      const refused = (blocked.statuses["429"] ?? 0) / Math.max(1, blocked.responses);
      check(refused >= 0.99, `${blocked.id}: only ${(refused * 100).toFixed(1)}% answered 429`);
      check(
        withinBlockedBudget(blocked),
        `${blocked.id}: ${blocked.totals.redisRoundTrips} Redis round trips for ${blocked.responses} refusals in ${(blocked.responses / blocked.reqPerSec).toFixed(1)} s (want one re-check a second and the flush)`,
      );
      check(blocked.totals.pgQueries === 0, `${blocked.id}: ${blocked.totals.pgQueries} Postgres queries`);
    }
  }
  const hot = hotRows(result);
  check(hot.length > 0, "no phase of hot keys was measured");
  for (const row of hot) {
    allAdmitted(row);
    // At least a lease's round trip: a row that cost nothing was not counted at all.
    check(
      row.totals.redisRoundTrips >= 1,
      `${row.id}: no Redis round trip counted (is the bridge counting?)`,
    );
    check(
      withinHotBudget(row),
      `${row.id}: hot keys cost ${cost(row)}; budget <= ${BUDGETS.hotRoundTrips} round trips and <= ${BUDGETS.hotCommands} commands per request`,
    );
  }
  const slow = slowRows(result);
  check(
    result.slowRowId !== undefined && slow.some((row) => row.id === result.slowRowId),
    "the slow keys (about one request a second each) were not measured",
  );
  for (const row of slow) {
    allAdmitted(row);
    check(
      row.perRequest.redisRoundTrips >= slowRoundTripFloor(result, row),
      `${row.id}: ${cost(row)}: fewer than half a lease call per key and second (is the bridge counting?)`,
    );
    check(
      row.perRequest.redisRoundTrips <= BUDGETS.slowRoundTrips,
      `${row.id}: slow keys cost ${cost(row)}; budget <= ${BUDGETS.slowRoundTrips} round trips per request`,
    );
  }
  const cold = get(result.coldRowId);
  if (cold) {
    check(cold.non2xx === 0, `${cold.id}: ${cold.non2xx} non-2xx on first use`);
    check(
      cold.perRequest.pgQueries >= 0.9,
      `${cold.id}: ${cold.perRequest.pgQueries.toFixed(3)} Postgres queries per first use (want >= 0.9: is the proxy counting?)`,
    );
    // Its round trips are in the full run's targets, not here: on a loaded machine a first use's lease can
    // miss its deadline, and the fail-open path then publishes the records again (a count set by timing).
  }
  return problems;
}
