import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Bindings } from "../../src/config";
import { configFor } from "../../src/config";
import { openDatabase } from "../../src/db/client";
import { LEASE_MS } from "../../src/gateway/lease-life";
import { runScheduledJobs } from "../../src/jobs/scheduled";
import { utcDay } from "../../src/lib/time";
import { plans } from "../../src/plans/plans";
import { redisFor } from "../../src/store/redis";
import { rollupUsage } from "../../src/usage/rollup";
import {
  accountWithKey,
  admin,
  createKey,
  gatewayWith,
  holdClockInNextWindow,
  redis,
  settleBackground,
  withKey,
} from "./support";

interface Usage {
  keys: Array<{ keyId: string; series: Array<Record<string, number | string>> }>;
  total: Array<Record<string, number | string>>;
}

async function usageOf(accountId: string): Promise<Usage> {
  const response = await admin(`/accounts/${accountId}/usage?granularity=day`);
  expect(response.status).toBe(200);
  return (await response.json()) as Usage;
}

const today = () => utcDay(Date.now());
afterEach(() => {
  vi.useRealTimers();
});

async function usageRows(accountId: string) {
  const { db, close } = openDatabase(configFor(env as Bindings));
  try {
    const result = await db.execute<{ key_id: string; outcome: string; count: string }>(
      `select key_id, outcome, count from usage_daily where account_id = '${accountId}' order by key_id, outcome`,
    );
    return result.rows.map((row) => ({ keyId: row.key_id, outcome: row.outcome, count: Number(row.count) }));
  } finally {
    await close();
  }
}

describe("usage", () => {
  it("counts every request by key, day and outcome, exactly, before and after rollups run twice", async () => {
    const { account, key, keyId } = await accountWithKey("free");
    const second = await createKey(account.id, { name: "second" });
    const send = (apiKey: string) => gatewayWith({}, "/v1/hello", withKey(apiKey), { background: "keep" });
    const limit = plans.free.rateLimit.requests;
    // Held: a run that straddled a minute would be owed part of the next window, and admit one more.
    const start = holdClockInNextWindow();
    for (let i = 0; i < limit + 3; i++) await send(key); // limit ok, then 3 rate-limited
    for (let i = 0; i < 4; i++) await send(second.key);
    expect((await admin(`/keys/${second.id}`, { method: "DELETE" })).status).toBe(204);
    for (let i = 0; i < 2; i++) await send(second.key); // refused: auth
    // Past the leases' life, so their unused tokens go back as the after-response work ends.
    vi.setSystemTime(start + 2 * LEASE_MS);
    await settleBackground();

    const expected = {
      [keyId]: { ok: limit, rate_limited: 3, quota: 0, auth: 0 },
      [second.id]: { ok: 4, rate_limited: 0, quota: 0, auth: 2 },
    };
    const check = (usage: Usage) => {
      for (const series of usage.keys) {
        const day = series.series.find((point) => point.day === today());
        expect(day, series.keyId).toMatchObject(expected[series.keyId] ?? {});
      }
      expect(usage.total.find((point) => point.day === today())?.total).toBe(limit + 3 + 4 + 2);
    };
    // Live from Redis, before any rollup.
    check(await usageOf(account.id));

    const now = new Date();
    await runScheduledJobs(env as Bindings, now);
    await runScheduledJobs(env as Bindings, now);
    const rows = await usageRows(account.id);
    expect(rows).toEqual(
      expect.arrayContaining([
        { keyId, outcome: "ok", count: limit },
        { keyId, outcome: "rate_limited", count: 3 },
        { keyId: second.id, outcome: "ok", count: 4 },
        { keyId: second.id, outcome: "auth", count: 2 },
      ]),
    );
    expect(rows).toHaveLength(4);
    // From Postgres once Redis no longer has the day.
    await redis.hdel(
      `gw:usage:${today()}`,
      ...Object.entries(expected).flatMap(([id, counts]) =>
        Object.keys(counts).map((outcome) => `${id}|${account.id}|${outcome}`),
      ),
    );
    check(await usageOf(account.id));
  });

  it("keeps each key's last-used time without a Postgres write on the hot path", async () => {
    const { account, keyId, key } = await accountWithKey();
    const before = Date.now();
    await gatewayWith({}, "/v1/hello", withKey(key));
    const listed = (await (await admin(`/accounts/${account.id}/keys`)).json()) as {
      keys: Array<{ lastUsedAt: string }>;
    };
    expect(Date.parse(listed.keys[0]?.lastUsedAt as string)).toBeGreaterThanOrEqual(before - 1000);
    const { db, close } = openDatabase(configFor(env as Bindings));
    try {
      const lookup = () =>
        db.execute<{ last_used_at: string | null }>(
          `select last_used_at from api_keys where id = '${keyId}'`,
        );
      expect((await lookup()).rows[0]?.last_used_at).toBeNull();
      await rollupUsage({ db, redis: redisFor(configFor(env as Bindings)) });
      expect(Date.parse(String((await lookup()).rows[0]?.last_used_at))).toBeGreaterThanOrEqual(
        before - 1000,
      );
    } finally {
      await close();
    }
  });

  it("validates the range", async () => {
    const { account } = await accountWithKey();
    expect((await admin(`/accounts/${account.id}/usage?from=2026-02-10&to=2026-02-01`)).status).toBe(400);
    expect((await admin(`/accounts/${account.id}/usage?from=2020-01-01&to=2026-01-01`)).status).toBe(400);
    expect((await admin(`/accounts/${account.id}/usage?from=yesterday`)).status).toBe(400);
    expect((await admin(`/accounts/${account.id}/usage?granularity=hour`)).status).toBe(400);
  });
});

describe("usage rollup at scale", () => {
  it("rolls up 100,000 counters, exactly and idempotently", { timeout: 120_000 }, async () => {
    const day = "2020-01-15";
    const key = `gw:usage:${day}`;
    const fields: Record<string, number> = {};
    let expectedTotal = 0;
    for (let i = 0; i < 100_000; i++) {
      const count = (i % 7) + 1;
      fields[`key_bulk${String(i).padStart(12, "0")}|acct_bulk${i % 1000}|ok`] = count;
      expectedTotal += count;
    }
    const entries = Object.entries(fields);
    for (let i = 0; i < entries.length; i += 10_000) {
      await redis.hset(key, Object.fromEntries(entries.slice(i, i + 10_000)));
    }
    const config = configFor(env as Bindings);
    const { db, close } = openDatabase(config);
    try {
      const started = Date.now();
      const result = await rollupUsage({ db, redis: redisFor(config) });
      const elapsed = Date.now() - started;
      console.log(`rollup of ${result.counters} counters over ${result.days} day(s) took ${elapsed} ms`);
      expect(result.counters).toBeGreaterThanOrEqual(100_000);
      await rollupUsage({ db, redis: redisFor(config) });
      const sum = await db.execute<{ n: string; total: string }>(
        `select count(*) as n, sum(count) as total from usage_daily where day = '${day}'`,
      );
      expect(Number(sum.rows[0]?.n)).toBe(100_000);
      expect(Number(sum.rows[0]?.total)).toBe(expectedTotal);
    } finally {
      await redis.del(key);
      await db.execute(`delete from usage_daily where day = '${day}'`);
      await close();
    }
  });
});
