// `npm run usage:check -- --from YYYY-MM-DD [--to YYYY-MM-DD] [--account acct_...] [--access-log FILE|-]`
//
// Reconciliation: for a range of UTC days, compares per account the requests the gateway's access log served
// with what usage holds (Redis day hashes and usage_daily), the monthly quota counters, and what metering
// reported to Stripe (meter_reports, and the local Stripe stand-in's recorded meter events). Prints a table
// and each difference; exits 0 when everything agrees, 1 when something differs, 2 on bad input or an
// unreachable store. Connections come from the environment, or .dev.vars: DATABASE_URL (required),
// UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, STRIPE_API_BASE.
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { Redis } from "@upstash/redis";
import pg from "pg";
import { redactString } from "../src/lib/log.ts";
import { readDevVars } from "./stack/dev-vars.ts";
import { type DayRange, summarizeAccessLog } from "./usage-check/access-log.ts";
import { type AccountFigures, blankFigures, checkAccounts, formatReport } from "./usage-check/reconcile.ts";
import {
  readAccounts,
  readMeterReports,
  readQuota,
  readStandinMeterEvents,
  readUsage,
  summarizeUsage,
  wholeMonths,
} from "./usage-check/sources.ts";

const USAGE = `usage: npm run usage:check -- --from YYYY-MM-DD [--to YYYY-MM-DD] [--account ID] [--access-log FILE|-] [--json]
  --from, --to    UTC days, both included (--to defaults to today)
  --account       one account only
  --access-log    the gateway's access log, JSON lines (or \`wrangler tail --format json\`); "-" or omitted: stdin
  --json          the figures as JSON instead of a table
Reads DATABASE_URL, UPSTASH_REDIS_REST_URL/TOKEN and STRIPE_API_BASE from the environment or .dev.vars.`;

class UsageError extends Error {}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_DAYS = 400;

function parseRange(from: string | undefined, to: string | undefined, today: string): DayRange {
  if (!from) throw new UsageError("--from is required");
  const range = { from, to: to ?? today };
  for (const day of [range.from, range.to]) {
    const time = Date.parse(`${day}T00:00:00Z`);
    if (!DAY.test(day) || Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== day)
      throw new UsageError(`not a day (YYYY-MM-DD): ${day}`);
  }
  if (range.from > range.to) throw new UsageError(`--from ${range.from} is after --to ${range.to}`);
  const days = (Date.parse(range.to) - Date.parse(range.from)) / 86_400_000 + 1;
  if (days > MAX_DAYS)
    throw new UsageError(`at most ${MAX_DAYS} days at once (usage rows are kept 400 days)`);
  return range;
}

function accessLogLines(path: string | undefined): AsyncIterable<string> {
  if ((path === undefined || path === "-") && process.stdin.isTTY)
    throw new UsageError("give the access log with --access-log FILE, or pipe it to stdin");
  const input = path === undefined || path === "-" ? process.stdin : createReadStream(path);
  input.on("error", () => {}); // reported by the readline iterator below
  return createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      from: { type: "string" },
      to: { type: "string" },
      account: { type: "string" },
      "access-log": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const today = new Date().toISOString().slice(0, 10);
  const range = parseRange(values.from, values.to, today);
  const accountId = values.account;
  const vars = { ...readDevVars(join(import.meta.dirname, "..", ".dev.vars")), ...definedOnly(process.env) };
  if (!vars.DATABASE_URL) throw new UsageError("DATABASE_URL is not set (environment or .dev.vars)");
  const notes: string[] = [];

  const log = await summarizeAccessLog(accessLogLines(values["access-log"]), range, accountId);
  notes.push(
    `access log: ${log.lines} lines, ${log.requests} requests in range` +
      (log.skipped ? `, ${log.skipped} lines skipped (not request lines)` : "") +
      (log.anonymous ? `, ${log.anonymous} refused before the key resolved (no account)` : "") +
      (log.undated ? `, ${log.undated} without a time (not placed)` : ""),
  );

  const redis =
    vars.UPSTASH_REDIS_REST_URL && vars.UPSTASH_REDIS_REST_TOKEN
      ? new Redis({
          url: vars.UPSTASH_REDIS_REST_URL,
          token: vars.UPSTASH_REDIS_REST_TOKEN,
          enableTelemetry: false,
          retry: false,
        })
      : undefined;
  if (!redis)
    notes.push("redis: UPSTASH_REDIS_REST_URL/TOKEN not set: usage from Postgres only, quota not checked");

  const db = new pg.Client({ connectionString: vars.DATABASE_URL });
  await db.connect();
  try {
    const [usage, meter, stripe] = await Promise.all([
      readUsage({ db, redis }, range, accountId),
      readMeterReports(db, range, accountId),
      vars.STRIPE_API_BASE ? readStandinMeterEvents(vars.STRIPE_API_BASE, range, accountId) : undefined,
    ]);
    if (!stripe)
      notes.push(
        "stripe: meter events not readable (Stripe lists none; only the local stand-in records them)",
      );
    const ids = new Set([
      ...log.byAccount.keys(),
      ...usage.keys(),
      ...meter.keys(),
      ...(stripe?.keys() ?? []),
    ]);
    if (accountId) ids.add(accountId);
    const accounts = await readAccounts(db, [...ids]);
    const months = redis ? wholeMonths(range, today) : [];
    if (redis && months.length === 0)
      notes.push("quota: no whole month in range, quota counters not compared");

    const figures: AccountFigures[] = [];
    for (const id of [...ids].sort()) {
      const account = accounts.get(id);
      figures.push({
        ...blankFigures(id),
        served: log.byAccount.get(id) ?? blankFigures(id).served,
        usage: summarizeUsage(usage.get(id) ?? [], account?.tier),
        quota: redis ? await readQuota(redis, id, months) : new Map(),
        meter: meter.get(id) ?? { reported: 0, pending: 0 },
        stripe: stripe ? (stripe.get(id) ?? 0) : undefined,
        customer: Boolean(account?.customerId),
      });
    }
    const checks = checkAccounts(figures);
    const differing = checks.filter((check) => check.differences.length > 0).length;
    if (values.json) {
      console.log(JSON.stringify({ range, accountId, notes, accounts: checks, differing }, jsonMaps, 2));
    } else {
      console.log(
        `usage:check ${range.from} .. ${range.to}${accountId ? ` for ${accountId}` : ""} (UTC days)`,
      );
      for (const note of notes) console.log(`  ${note}`);
      console.log("");
      console.log(checks.length ? formatReport(checks) : "no requests in range");
      console.log("");
      console.log(
        differing
          ? `${differing} of ${checks.length} accounts differ`
          : `all ${checks.length} accounts agree`,
      );
    }
    return differing ? 1 : 0;
  } finally {
    await db.end();
  }
}

function jsonMaps(_key: string, value: unknown) {
  return value instanceof Map ? Object.fromEntries(value) : value;
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

try {
  process.exitCode = await main();
} catch (error) {
  if (error instanceof UsageError || String((error as { code?: string }).code).startsWith("ERR_PARSE_ARGS")) {
    console.error(`usage:check: ${(error as Error).message}\n\n${USAGE}`);
  } else {
    // Connection failures and the like: the message only, redacted (no stack, no credentials).
    console.error(`usage:check failed: ${redactString(String((error as Error).message))}`);
  }
  process.exitCode = 2;
}
