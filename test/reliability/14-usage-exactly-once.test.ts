// Issue 14: usage is money, so every admitted request is counted once, whatever fails: a Redis that answers
// after the deadline (a batch applied but its reply late), a Redis down while requests are admitted, a
// Redis killed mid-load, a gateway process killed mid-load. "Counted" is what an operator reads: the admin
// usage API's `ok` requests and the account's monthly quota counter in Redis.
import { afterAll, describe, expect, it } from "vitest";
import { accountWithKeys, call, type TestKey } from "./harness/client.ts";
import { killService, originRecords, setBridgeDelay, startService, stopService } from "./harness/control.ts";
import { env } from "./harness/environment.ts";
import { measure, verify, violationMark, violationsSince } from "./harness/figures.ts";
import { answeredAtLeast, type LoadAnswer, ridOf, startLoad, statusTally } from "./harness/load.ts";
import { bridgeAnswers, type Counted, redisReader, settledCounts } from "./harness/usage.ts";

const { a, b, killable } = env.gateways;
const { rateLimitTimeoutMs } = env.settings;
const area = "usage exactly once";
const redis = redisReader();

// Whatever a test does, the next file gets its services back.
afterAll(async () => {
  await setBridgeDelay(0).catch(() => {});
  await startService("redis").catch(() => {});
  await startService("killable").catch(() => {});
  redis.disconnect();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const served = (status: number | "error") => status === 200 || status === 502 || status === 504;
const plus = (base: Counted, n: number): Counted => ({ usageOk: base.usageOk + n, quota: base.quota + n });
const minus = (x: Counted, base: Counted): Counted => ({
  usageOk: x.usageOk - base.usageOk,
  quota: x.quota - base.quota,
});
const show = (c: Counted | undefined) => `usage ok ${c?.usageOk}, quota ${c?.quota}`;

/** Keys that have made `warmups` requests each through `bases` (in isolate memory), their counts settled. */
async function warmAccounts(accounts: number, keysEach: number, bases: string[], warmups = 1) {
  const keys: TestKey[] = [];
  for (let i = 0; i < accounts; i++) keys.push(...(await accountWithKeys("pro", keysEach)));
  for (const key of keys) {
    for (const base of bases) {
      for (let i = 0; i < warmups; i++) {
        const answer = await call(base, "/v1/hello", { apiKey: key.key, area: "setup" });
        expect(answer.status, answer.text).toBe(200);
      }
    }
  }
  const accountIds = [...new Set(keys.map((key) => key.accountId))];
  const perAccount = keysEach * bases.length * warmups;
  const before = await settledCounts(redis, accountIds, {
    scheduledOn: bases,
    want: () => ({ usageOk: perAccount, quota: perAccount }),
    maxMs: 30_000,
  });
  for (const id of accountIds) {
    expect(before.counts[id], "the warm-up requests were not counted exactly: no baseline").toEqual({
      usageOk: perAccount,
      quota: perAccount,
    });
  }
  return { keys, accountIds, baseline: before.counts };
}

/** Requests that got past the limits, per account. */
function servedPerAccount(answers: LoadAnswer[]): Map<string, number> {
  const perAccount = new Map<string, number>();
  for (const { accountId, status } of answers) {
    if (served(status)) perAccount.set(accountId, (perAccount.get(accountId) ?? 0) + 1);
  }
  return perAccount;
}

describe("usage counted exactly once, whatever fails (issue 14)", () => {
  it(`(1) Redis replies ${rateLimitTimeoutMs + 150} ms late (deadline ${rateLimitTimeoutMs} ms) for 10 requests: usage and quota each grow by exactly 10`, async () => {
    const mark = violationMark();
    const { keys, accountIds, baseline } = await warmAccounts(1, 1, [a], 2);
    const [key] = keys;
    const [accountId] = accountIds;
    if (!key || !accountId) throw new Error("no key");
    // The bridge runs every command at once and holds only the reply: each batch is applied, its outcome
    // unknown to the worker.
    await setBridgeDelay(rateLimitTimeoutMs + 150);
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 10; i++)
        statuses.push((await call(a, "/v1/hello", { apiKey: key.key, area })).status);
    } finally {
      await setBridgeDelay(0);
    }
    const settled = await settledCounts(redis, [accountId], {
      scheduledOn: [a],
      want: () => plus(baseline[accountId] as Counted, 10),
    });
    const grew = minus(settled.counts[accountId] as Counted, baseline[accountId] as Counted);
    measure(
      "exactly once (1): 10 requests served with replies late, grew by",
      `${show(grew)} (statuses ${statuses.join(" ")}; settled after ${settled.lastChangeMs} ms)`,
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    verify(grew.usageOk === 10, area, () => `late replies: usage grew by ${grew.usageOk} for 10 requests`);
    verify(grew.quota === 10, area, () => `late replies: quota grew by ${grew.quota} for 10 requests`);
    expect(violationsSince(mark)).toEqual([]);
  }, 120_000);

  const DOWN_REQUESTS = 300;
  it(`(2) ${DOWN_REQUESTS} requests admitted while Redis is down, Redis back, the process SIGKILLed before any other request and restarted: all ${DOWN_REQUESTS} counted within a minute, once`, async () => {
    const mark = violationMark();
    const { keys, accountIds, baseline } = await warmAccounts(1, 2, [killable]);
    const [accountId] = accountIds;
    if (!accountId) throw new Error("no account");
    await stopService("redis");
    let load: LoadAnswer[] = [];
    try {
      const running = startLoad({
        tag: "down",
        total: DOWN_REQUESTS,
        area,
        workers: Array.from({ length: 8 }, (_, i) => ({
          base: killable,
          key: keys[i % keys.length] as TestKey,
        })),
      });
      load = await running.done;
    } finally {
      await startService("redis");
    }
    const answered = statusTally(load);
    // Back for the worker too (the bridge reconnected), then the isolate dies with whatever it still holds.
    expect(await bridgeAnswers(), "Redis did not answer through the bridge within 20 s").toBe(true);
    const killedAt = Date.now();
    await killService("killable");
    await startService("killable");
    const restartedMs = Date.now() - killedAt;
    const want = plus(baseline[accountId] as Counted, DOWN_REQUESTS);
    const settled = await settledCounts(redis, [accountId], { scheduledOn: [killable, a], want: () => want });
    const after = settled.counts[accountId] as Counted;
    measure(
      `exactly once (2): ${DOWN_REQUESTS} admitted with Redis down, process killed, restarted: counted`,
      `${show(minus(after, baseline[accountId] as Counted))} ` +
        `(answers ${JSON.stringify(answered)}; restart took ${restartedMs} ms; ` +
        `${settled.reachedMs === undefined ? "never reached" : `reached ${settled.reachedMs} ms after the restart`})`,
    );
    expect(answered, "every request of the outage served (fail-open)").toEqual({ 200: DOWN_REQUESTS });
    verify(after.usageOk === want.usageOk, area, () => `usage: ${after.usageOk}, want ${want.usageOk}`);
    verify(after.quota === want.quota, area, () => `quota: ${after.quota}, want ${want.quota}`);
    expect(violationsSince(mark)).toEqual([]);
  }, 180_000);

  const LOAD = 1500;
  const REDIS_DOWN_MS = 15_000;
  it(`(3) Redis SIGKILLed for ${REDIS_DOWN_MS / 1000} s in the middle of ${LOAD} requests at concurrency 8 over 2 processes, then restarted: served = counted for every account`, async () => {
    const mark = violationMark();
    // Four accounts of two keys; each of the 8 loops keeps one key and one process.
    const { keys, accountIds, baseline } = await warmAccounts(4, 2, [a, b]);
    const load = startLoad({
      tag: "redis-killed",
      total: LOAD,
      area,
      workers: keys.map((key, i) => ({ base: i % 2 ? b : a, key })),
    });
    let answers: LoadAnswer[] = [];
    try {
      await answeredAtLeast(load, Math.round(LOAD / 5), 120_000);
      await killService("redis");
      await sleep(REDIS_DOWN_MS);
      await startService("redis");
      answers = await load.done;
    } finally {
      await startService("redis");
      await load.stop();
    }
    const servedBy = servedPerAccount(answers);
    const settled = await settledCounts(redis, accountIds, {
      scheduledOn: [a, b],
      want: (id) => plus(baseline[id] as Counted, servedBy.get(id) ?? 0),
    });
    const lines = accountIds.map((id, i) => {
      const got = settled.counts[id] as Counted;
      const base = baseline[id] as Counted;
      return `account ${i + 1}: served ${servedBy.get(id) ?? 0}, usage ok ${got.usageOk - base.usageOk}, quota ${got.quota - base.quota}`;
    });
    measure(
      `exactly once (3): Redis killed ${REDIS_DOWN_MS / 1000} s mid-load (${LOAD} at c=8)`,
      `${lines.join("; ")} (answers ${JSON.stringify(statusTally(answers))})`,
    );
    expect(answers.length).toBe(LOAD);
    verify(
      answers.every((x) => x.status === 200),
      area,
      () => `answers ${JSON.stringify(statusTally(answers))}, want ${LOAD} x 200 (fail-open)`,
    );
    for (const id of accountIds) {
      const got = settled.counts[id] as Counted;
      const want = plus(baseline[id] as Counted, servedBy.get(id) ?? 0);
      verify(got.usageOk === want.usageOk, area, () => `${id}: usage ${got.usageOk}, want ${want.usageOk}`);
      verify(got.quota === want.quota, area, () => `${id}: quota ${got.quota}, want ${want.quota}`);
    }
    expect(violationsSince(mark)).toEqual([]);
  }, 240_000);

  it(`(4) the gateway process SIGKILLed mid-load: counted <= served, the difference printed`, async () => {
    const mark = violationMark();
    const { keys, accountIds, baseline } = await warmAccounts(2, 2, [killable]);
    const originFrom = (await originRecords()).next;
    const load = startLoad({
      tag: "gateway-killed",
      total: 2000,
      area,
      workers: Array.from({ length: 8 }, (_, i) => ({
        base: killable,
        key: keys[i % keys.length] as TestKey,
      })),
    });
    let answers: LoadAnswer[] = [];
    try {
      await answeredAtLeast(load, 400, 120_000);
      await killService("killable");
    } finally {
      answers = await load.stop();
      await startService("killable");
    }
    // Requests that got no answer but reached the origin: admitted and proxied, then the process died.
    const reachedOrigin = new Set<string>();
    for (let from = originFrom; ; ) {
      const page = await originRecords(from);
      for (const record of page.records) {
        const rid = ridOf(record.url);
        if (rid) reachedOrigin.add(rid);
      }
      if (page.records.length === 0 || page.next === from) break;
      from = page.next;
    }
    const servedBy = servedPerAccount(answers);
    const unanswered = new Map<string, number>();
    for (const { rid, accountId, status } of answers) {
      if (status === "error" && reachedOrigin.has(rid))
        unanswered.set(accountId, (unanswered.get(accountId) ?? 0) + 1);
    }
    // No count to wait for: settled when nothing moved for 10 s across scheduled runs.
    const settled = await settledCounts(redis, accountIds, { scheduledOn: [killable, a], quietMs: 10_000 });
    const lines = accountIds.map((id, i) => {
      const got = settled.counts[id] as Counted;
      const base = baseline[id] as Counted;
      const servedHere = servedBy.get(id) ?? 0;
      const counted = got.usageOk - base.usageOk;
      return (
        `account ${i + 1}: served ${servedHere} (+${unanswered.get(id) ?? 0} proxied, unanswered), ` +
        `counted ${counted} (served - counted = ${servedHere - counted}), quota ${got.quota - base.quota}`
      );
    });
    measure(
      "exactly once (4): gateway SIGKILLed mid-load",
      `${lines.join("; ")} (answers ${JSON.stringify(statusTally(answers))})`,
    );
    expect(
      answers.some((x) => x.status === "error"),
      "the kill cut no request: it came too late",
    ).toBe(true);
    for (const id of accountIds) {
      const got = settled.counts[id] as Counted;
      const counted = got.usageOk - (baseline[id] as Counted).usageOk;
      const bound = (servedBy.get(id) ?? 0) + (unanswered.get(id) ?? 0);
      verify(
        counted <= bound,
        area,
        () => `${id}: counted ${counted}, served ${bound} (counting the unanswered)`,
      );
    }
    // The restarted process serves again.
    const again = await call(killable, "/v1/hello", { apiKey: (keys[0] as TestKey).key, area });
    verify(again.status === 200, area, () => `after the restart: ${again.status}`);
    expect(violationsSince(mark)).toEqual([]);
  }, 240_000);
});
