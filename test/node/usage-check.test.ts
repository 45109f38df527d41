import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Redis } from "@upstash/redis";
import pg from "pg";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { applyMigrations, createDatabase, dropDatabase } from "../../scripts/stack/migrate.ts";
import { type StripeStandin, startStripeStandin } from "../../scripts/stack/stripe-standin.ts";
import { startUpstashBridge, type UpstashBridge } from "../../scripts/stack/upstash-bridge.ts";
import { summarizeAccessLog } from "../../scripts/usage-check/access-log.ts";
import { blankFigures, differencesOf } from "../../scripts/usage-check/reconcile.ts";
import { formatCounterField } from "../../src/usage/usage-counters.ts";

// `npm run usage:check` run as a user runs it (a child process, the access log on stdin), against a real
// Postgres with the migrations applied, a real Redis behind the Upstash bridge, and the Stripe stand-in fed
// meter events by the real stripe package.

const root = join(import.meta.dirname, "..", "..");
const serverUrl = inject("postgresUrl");
const databaseName = `usage_check_${Date.now()}_${randomBytes(3).toString("hex")}`;
const token = randomBytes(16).toString("hex");
let databaseUrl = "";
let bridge: UpstashBridge;
let standin: StripeStandin;
let redis: Redis;

const suffix = randomBytes(4).toString("hex");
const today = new Date().toISOString().slice(0, 10);
const firstOfMonth = `${today.slice(0, 7)}-01`;
/** Every account exactly once in these tests: unique ids, so a shared Redis holds nothing else of theirs. */
const agreeing = `acct_agree${suffix}`;
const doubled = `acct_double${suffix}`;
const unreported = `acct_unrep${suffix}`;

/** Access log lines as src/middleware/access-log.ts writes them (through the logger: `time` stamped). */
function logLine(fields: {
  accountId?: string;
  keyId?: string;
  tier?: string;
  outcome: string;
  status: number;
  day?: string;
}) {
  const time = `${fields.day ?? today}T12:00:00.000Z`;
  return JSON.stringify({
    level: "info",
    message: "request",
    time,
    requestId: randomBytes(8).toString("hex"),
    method: "GET",
    path: "/v1/hello",
    latencyMs: 12,
    ...fields,
  });
}
const repeat = (n: number, line: () => string) => Array.from({ length: n }, line);

const accessLog = [
  "[wrangler:info] Ready on http://127.0.0.1:8787", // not a request line: skipped
  ...repeat(5, () =>
    logLine({ accountId: agreeing, keyId: "key_a1", tier: "pro", outcome: "ok", status: 200 }),
  ),
  ...repeat(2, () =>
    logLine({ accountId: agreeing, keyId: "key_a1", tier: "pro", outcome: "rate_limited", status: 429 }),
  ),
  // An origin's 404 passes through: usage counts it ok.
  logLine({ accountId: agreeing, keyId: "key_a1", tier: "pro", outcome: "error", status: 404 }),
  ...repeat(3, () =>
    logLine({
      accountId: agreeing,
      keyId: "key_a2",
      tier: "pro",
      outcome: "ok",
      status: 200,
      day: firstOfMonth,
    }),
  ),
  ...repeat(10, () =>
    logLine({ accountId: doubled, keyId: "key_d1", tier: "free", outcome: "ok", status: 200 }),
  ),
  ...repeat(4, () =>
    logLine({ accountId: unreported, keyId: "key_u1", tier: "pro", outcome: "ok_local", status: 200 }),
  ),
  logLine({ outcome: "key_unknown", status: 403 }),
].join("\n");

function usageCheck(
  args: string[],
  stdin: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, "scripts", "usage-check.ts"), ...args], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: databaseUrl,
        UPSTASH_REDIS_REST_URL: bridge.url,
        UPSTASH_REDIS_REST_TOKEN: token,
        STRIPE_API_BASE: standin.url,
        ...env,
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

beforeAll(async () => {
  databaseUrl = await createDatabase(serverUrl, databaseName);
  await applyMigrations(databaseUrl);
  bridge = await startUpstashBridge({ redisUrl: inject("redisUrl"), token });
  standin = await startStripeStandin();
  redis = new Redis({ url: bridge.url, token, enableTelemetry: false });

  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(
      `insert into accounts (id, email, tier, stripe_customer_id) values
       ($1, $1 || '@example.com', 'pro', 'cus_' || $1), ($2, $2 || '@example.com', 'free', null),
       ($3, $3 || '@example.com', 'pro', 'cus_' || $3)`,
      [agreeing, doubled, unreported],
    );
    // Rolled up already: the first of the month, in Postgres only (as once Redis let it go).
    await db.query(
      `insert into usage_daily (key_id, account_id, day, outcome, tier, count) values ('key_a2', $1, $2, 'ok', 'pro', 3)`,
      [agreeing, firstOfMonth],
    );
    // What metering reported (one row a day: today may be the first of the month).
    await db.query(
      `insert into meter_reports (account_id, day, reported_count) values ($1, $2, 6)
       on conflict (account_id, day) do update set reported_count = meter_reports.reported_count + 6`,
      [agreeing, today],
    );
    await db.query(
      `insert into meter_reports (account_id, day, reported_count) values ($1, $2, 3)
       on conflict (account_id, day) do update set reported_count = meter_reports.reported_count + 3`,
      [agreeing, firstOfMonth],
    );
  } finally {
    await db.end();
  }
  // Today's counters, as the edge writes them. The doubled account was counted twice for 2 requests.
  const day = `gw:usage:${today}`;
  const field = (keyId: string, accountId: string, outcome: "ok" | "rate_limited", tier: string) =>
    formatCounterField({ keyId, accountId, outcome, tier });
  await redis.hincrby(day, field("key_a1", agreeing, "ok", "pro"), 6);
  await redis.hincrby(day, field("key_a1", agreeing, "rate_limited", "pro"), 2);
  await redis.hincrby(day, field("key_d1", doubled, "ok", "free"), 12);
  await redis.hincrby(day, field("key_u1", unreported, "ok", "pro"), 4);
  const month = today.slice(0, 7);
  await redis.set(`gw:quota:${agreeing}:${month}`, 9);
  await redis.set(`gw:quota:${doubled}:${month}`, 12);
  await redis.set(`gw:quota:${unreported}:${month}`, 4);

  const url = new URL(standin.url);
  const stripe = new Stripe("sk_test_usageCheck", {
    httpClient: Stripe.createFetchHttpClient(),
    host: url.hostname,
    port: url.port,
    protocol: "http",
  });
  for (const [day, value] of [
    [today, 6],
    [firstOfMonth, 3],
  ] as const) {
    await stripe.billing.meterEvents.create({
      event_name: "api_requests",
      identifier: `${agreeing}:${day}:${day === today ? 0 : 6}-${day === today ? 6 : 9}`,
      payload: { stripe_customer_id: `cus_${agreeing}`, value: String(value) },
    });
  }
});

afterAll(async () => {
  await redis?.del(`gw:usage:${today}`);
  await bridge?.close();
  await standin?.close();
  if (databaseUrl) await dropDatabase(serverUrl, databaseName);
});

// Each case starts a Node process (a few seconds on a busy machine).
describe("npm run usage:check", { timeout: 60_000 }, () => {
  it("prints a row per account and each difference, and exits 1 when usage, quota or meter differ", async () => {
    const { code, stdout, stderr } = await usageCheck(["--from", firstOfMonth], accessLog);
    expect(stderr).toBe("");
    expect(code).toBe(1);
    const row = (id: string) =>
      stdout
        .split("\n")
        .find((line) => line.startsWith(id))
        ?.split(/\s{2,}/);
    //                  account, served ok, usage ok, quota, served metered, billable, meter, stripe, status
    expect(row(agreeing)).toEqual([agreeing, "9", "9", "9", "9", "9", "9", "9", "ok"]);
    expect(row(doubled)).toEqual([doubled, "10", "12", "12", "0", "0", "0", "0", "DIFFERS"]);
    expect(row(unreported)).toEqual([unreported, "4", "4", "4", "4", "4", "0", "0", "DIFFERS"]);
    expect(stdout).toContain(`${doubled}: usage counts 12 ok requests, the access log served 10 (+2)`);
    expect(stdout).toContain(
      `${doubled}: quota ${today.slice(0, 7)} holds 12, the access log served 10 ok (+2)`,
    );
    expect(stdout).toContain(`${unreported}: Stripe accepted 0 of 4 billable requests (-4)`);
    expect(stdout).toContain("2 of 3 accounts differ");
    expect(stdout).toContain("1 lines skipped (not request lines), 1 refused before the key resolved");
  });

  it("narrows to one account, and exits 0 when everything agrees", async () => {
    const { code, stdout } = await usageCheck(
      ["--from", firstOfMonth, "--to", today, "--account", agreeing],
      accessLog,
    );
    expect(code).toBe(0);
    expect(stdout).toContain("all 1 accounts agree");
    expect(stdout).not.toContain(doubled);
  });

  it("gives the figures as JSON", async () => {
    const { code, stdout } = await usageCheck(
      ["--from", firstOfMonth, "--json", "--account", doubled],
      accessLog,
    );
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as {
      differing: number;
      accounts: Array<{ usage: { ok: number }; served: { ok: number } }>;
    };
    expect(report.differing).toBe(1);
    expect(report.accounts[0]).toMatchObject({ served: { ok: 10 }, usage: { ok: 12 } });
  });

  it("does not compare quota counters when the range does not cover a whole month", async () => {
    const { stdout } = await usageCheck(["--from", today, "--account", doubled], accessLog);
    expect(stdout).toContain("quota counters not compared");
    expect(stdout).not.toContain("quota 20");
  });

  it.each([
    ["no --from", []],
    ["a day that does not exist", ["--from", "2026-02-30"]],
    ["--to before --from", ["--from", today, "--to", "2020-01-01"]],
    ["an unknown option", ["--from", today, "--nope"]],
  ])("refuses %s with a clear message and exit 2", async (_case, args) => {
    const { code, stderr, stdout } = await usageCheck(args, "");
    expect(code).toBe(2);
    expect(stderr).toMatch(/^usage:check: .+\n\nusage: npm run usage:check/);
    expect(stdout).toBe("");
  });

  it("says which store it could not reach, without its credentials, and exits 2", async () => {
    const { code, stderr } = await usageCheck(["--from", today], accessLog, {
      DATABASE_URL: "postgres://checker:hunter2secret@127.0.0.1:1/nowhere",
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^usage:check failed: .*ECONNREFUSED/);
    expect(stderr).not.toContain("hunter2secret");
  });
});

describe("reading the access log", () => {
  it("reads wrangler tail records, places a request by its start, and keeps ambiguous errors apart", async () => {
    const tail = JSON.stringify({
      outcome: "ok",
      logs: [
        {
          level: "log",
          message: [logLine({ accountId: "acct_t", tier: "pro", outcome: "ok", status: 200 })],
        },
      ],
    });
    // Finished 00:00:00.2 the next day after 500 ms: the gateway counted it the day before.
    const straddling = JSON.stringify({
      message: "request",
      time: "2026-03-02T00:00:00.200Z",
      latencyMs: 500,
      accountId: "acct_t",
      outcome: "ok",
      status: 200,
      tier: "free",
    });
    const timeout = logLine({ accountId: "acct_t", tier: "pro", outcome: "error", status: 504 });
    const summary = await summarizeAccessLog(
      [tail, straddling, timeout, "not json", `{"message":"request"}`],
      { from: "2026-03-02", to: today },
    );
    expect(summary).toMatchObject({ lines: 5, skipped: 1, undated: 1 });
    expect(summary.byAccount.get("acct_t")).toMatchObject({ ok: 1, okMetered: 1, unsure: 1 });
    const march = await summarizeAccessLog([straddling], { from: "2026-03-01", to: "2026-03-01" });
    expect(march.byAccount.get("acct_t")).toMatchObject({ ok: 1, okMetered: 0 });
  });

  it("counts a sampled line as 1 / sampleRate requests, and allows the estimate its spread", async () => {
    // A busy isolate: 100 answered requests logged in full, then 50 lines kept at 0.1 (about 500 more).
    const full = repeat(100, () => logLine({ accountId: "acct_s", tier: "pro", outcome: "ok", status: 200 }));
    const sampled = repeat(50, () =>
      JSON.stringify({
        ...JSON.parse(logLine({ accountId: "acct_s", tier: "pro", outcome: "ok", status: 200 })),
        sampleRate: 0.1,
      }),
    );
    const refusals = repeat(7, () =>
      logLine({ accountId: "acct_s", tier: "pro", outcome: "rate_limited", status: 429 }),
    );
    const summary = await summarizeAccessLog([...full, ...sampled, ...refusals], { from: today, to: today });
    const served = summary.byAccount.get("acct_s");
    expect(served).toMatchObject({ ok: 600, okMetered: 600, refused: 7 });
    // 50 lines of (1 - 0.1) / 0.1^2: a standard deviation of 67 requests, so 4 of them allow 600 +- 269.
    expect(served?.okVariance).toBeCloseTo(4500);

    const month = today.slice(0, 7);
    const figures = (ok: number) => ({
      ...blankFigures("acct_s"),
      served: served as NonNullable<typeof served>,
      usage: { ok, refused: 7, billable: ok, okByMonth: new Map([[month, ok]]) },
      quota: new Map([[month, ok]]),
      meter: { reported: ok, pending: 0 },
      customer: true,
    });
    // What the gateway really served (say 583) agrees with the estimate.
    expect(differencesOf(figures(583))).toEqual([]);
    // Twice as many is no sampling error: every figure that compares with the log says so, as an estimate.
    const doubled = differencesOf(figures(1200));
    expect(doubled).toHaveLength(3);
    expect(doubled[0]).toBe(
      "usage counts 1200 ok requests, the access log served about 600 (sampled log: 331-869) (+600)",
    );
  });
});
