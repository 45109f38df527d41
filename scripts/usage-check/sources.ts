// What the gateway's stores hold for a range: usage (Redis day hashes and usage_daily), the monthly quota
// counters, meter_reports, and the meter events Stripe (the local stand-in) recorded.
import type { Redis } from "@upstash/redis";
import type pg from "pg";
import { plans, type TierId } from "../../src/plans/plans.ts";
import { redisKeys } from "../../src/store/layout.ts";
import { parseCounterField } from "../../src/usage/usage-counters.ts";
import type { DayRange } from "./access-log.ts";

/** What usage holds for an account over the range. */
export interface Held {
  /** `ok` requests (Redis and Postgres merged counter by counter: the greater absolute count wins). */
  ok: number;
  /** `rate_limited` plus `quota`. */
  refused: number;
  /** `ok` under a metered tier: what metering bills (tier "" counts by the account's tier now, as it does). */
  billable: number;
  /** `ok` per UTC month, to tell a quota difference from a usage one. */
  okByMonth: Map<string, number>;
}

export const emptyHeld = (): Held => ({ ok: 0, refused: 0, billable: 0, okByMonth: new Map() });

export function daysOf(range: DayRange): string[] {
  const days: string[] = [];
  for (
    let t = Date.parse(`${range.from}T00:00:00Z`);
    t <= Date.parse(`${range.to}T00:00:00Z`);
    t += 86_400_000
  )
    days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

const isMetered = (tier: string) => plans[tier as TierId]?.metered === true;

/** Accounts' tiers now (for counts made before usage carried its tier) and Stripe customers. */
export async function readAccounts(
  db: pg.Client,
  accountIds: string[],
): Promise<Map<string, { tier: string; customerId: string | null }>> {
  const { rows } = await db.query<{ id: string; tier: string; stripe_customer_id: string | null }>(
    "select id, tier, stripe_customer_id from accounts where id = any($1)",
    [accountIds],
  );
  return new Map(rows.map((row) => [row.id, { tier: row.tier, customerId: row.stripe_customer_id }]));
}

/**
 * Usage counters per account: usage_daily rows and, for days Redis still holds (40), the day hashes, merged
 * per key, day, outcome and tier by the greater absolute count, exactly as the usage API merges them.
 */
export async function readUsage(
  sources: { db: pg.Client; redis?: Redis },
  range: DayRange,
  accountId?: string,
): Promise<Map<string, Array<{ day: string; outcome: string; tier: string; count: number }>>> {
  const counters = new Map<
    string,
    { accountId: string; day: string; outcome: string; tier: string; count: number }
  >();
  const put = (
    keyId: string,
    c: { accountId: string; day: string; outcome: string; tier: string; count: number },
  ) => {
    const slot = `${keyId}|${c.day}|${c.outcome}|${c.tier}`;
    const held = counters.get(slot);
    if (!held || held.count < c.count) counters.set(slot, c);
  };
  const { rows } = await sources.db.query<{
    key_id: string;
    account_id: string;
    day: string;
    outcome: string;
    tier: string;
    count: string;
  }>(
    `select key_id, account_id, to_char(day, 'YYYY-MM-DD') as day, outcome, tier, count from usage_daily
     where day between $1 and $2 and ($3::text is null or account_id = $3)`,
    [range.from, range.to, accountId ?? null],
  );
  for (const row of rows)
    put(row.key_id, {
      accountId: row.account_id,
      day: row.day,
      outcome: row.outcome,
      tier: row.tier,
      count: Number(row.count),
    });

  if (sources.redis) {
    for (const day of daysOf(range)) {
      const match = accountId ? `*|${accountId}|*` : undefined;
      let cursor: string | number = 0;
      do {
        const [next, flat]: [string | number, unknown[]] = await sources.redis.hscan(
          redisKeys.usageDay(day),
          cursor,
          {
            match,
            count: 5000,
          },
        );
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const counter = parseCounterField(String(flat[i]), flat[i + 1]);
          if (!counter || (accountId && counter.accountId !== accountId)) continue;
          put(counter.keyId, { ...counter, day });
        }
        cursor = next;
      } while (String(cursor) !== "0");
    }
  }

  const byAccount = new Map<string, Array<{ day: string; outcome: string; tier: string; count: number }>>();
  for (const { accountId: id, ...counter } of counters.values()) {
    const list = byAccount.get(id) ?? [];
    list.push(counter);
    byAccount.set(id, list);
  }
  return byAccount;
}

/** Sums an account's counters into what the comparison needs. */
export function summarizeUsage(
  counters: Array<{ day: string; outcome: string; tier: string; count: number }>,
  tierNow: string | undefined,
): Held {
  const held = emptyHeld();
  for (const counter of counters) {
    if (counter.outcome === "ok") {
      held.ok += counter.count;
      const month = counter.day.slice(0, 7);
      held.okByMonth.set(month, (held.okByMonth.get(month) ?? 0) + counter.count);
      if (isMetered(counter.tier || (tierNow ?? ""))) held.billable += counter.count;
    } else if (counter.outcome === "rate_limited" || counter.outcome === "quota") {
      held.refused += counter.count;
    }
  }
  return held;
}

/**
 * The UTC months whose every day up to `today` lies inside the range: only for those can a monthly quota
 * counter be compared with the range's requests.
 */
export function wholeMonths(range: DayRange, today: string): string[] {
  const months: string[] = [];
  for (const day of daysOf(range)) {
    const month = day.slice(0, 7);
    if (months.includes(month)) continue;
    const first = `${month}-01`;
    const next = new Date(Date.parse(`${first}T00:00:00Z`));
    next.setUTCMonth(next.getUTCMonth() + 1);
    const last = new Date(next.getTime() - 86_400_000).toISOString().slice(0, 10);
    const needed = last < today ? last : today;
    if (range.from <= first && range.to >= needed) months.push(month);
  }
  return months;
}

/** The monthly quota counters (requests charged to the quota) of an account, by month. */
export async function readQuota(
  redis: Redis,
  accountId: string,
  months: string[],
): Promise<Map<string, number>> {
  if (months.length === 0) return new Map();
  const values = await redis.mget<Array<number | string | null>>(
    ...months.map((month) => redisKeys.quota(accountId, month)),
  );
  return new Map(months.map((month, i) => [month, Number(values[i] ?? 0)]));
}

/** meter_reports per account over the range: requests Stripe accepted, and attempts still in flight. */
export async function readMeterReports(
  db: pg.Client,
  range: DayRange,
  accountId?: string,
): Promise<Map<string, { reported: number; pending: number }>> {
  const { rows } = await db.query<{ account_id: string; reported: string; pending: string }>(
    `select account_id, sum(reported_count) as reported, sum(coalesce(pending_count - reported_count, 0)) as pending
     from meter_reports where day between $1 and $2 and ($3::text is null or account_id = $3)
     group by account_id`,
    [range.from, range.to, accountId ?? null],
  );
  return new Map(
    rows.map((row) => [row.account_id, { reported: Number(row.reported), pending: Number(row.pending) }]),
  );
}

/**
 * Meter events Stripe accepted, per account, from the local stand-in's record of calls (Stripe's API has no
 * way to list single meter events). The identifier `${accountId}:${day}:${from}-${to}` that
 * src/billing/metering/metering.ts sends names the account and day. Undefined when `stripeApiBase` is not a stand-in (no /__standin/calls).
 */
export async function readStandinMeterEvents(
  stripeApiBase: string,
  range: DayRange,
  accountId?: string,
): Promise<Map<string, number> | undefined> {
  let response: Response;
  try {
    response = await fetch(new URL("/__standin/calls", stripeApiBase), { signal: AbortSignal.timeout(5000) });
  } catch {
    return undefined;
  }
  if (!response.ok) return undefined;
  const { calls } = (await response.json()) as {
    calls: Array<{
      path: string;
      status: number;
      params: { identifier?: unknown; payload?: { value?: unknown } };
    }>;
  };
  const accepted = new Map<string, number>();
  for (const call of calls) {
    if (call.path !== "/v1/billing/meter_events" || call.status !== 200) continue;
    const match = /^(.+):(\d{4}-\d{2}-\d{2}):\d+-\d+$/.exec(String(call.params.identifier ?? ""));
    if (!match?.[1] || !match[2]) continue;
    const [, id, day] = match;
    if (day < range.from || day > range.to || (accountId && id !== accountId)) continue;
    accepted.set(id, (accepted.get(id) ?? 0) + Number(call.params.payload?.value ?? 0));
  }
  return accepted;
}
