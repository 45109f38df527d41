import { reportMeteredUsage } from "../billing/metering";
import { expirePastDueAccounts } from "../billing/past-due";
import { stripeClient } from "../billing/stripe-client";
import { type Bindings, configFor } from "../config";
import { openDatabase } from "../db/client";
import { retireExpiredKeys } from "../keys/retire";
import { createLogger, type Logger } from "../lib/log";
import { redisFor } from "../store/redis";
import { rollupUsage } from "../usage/rollup";
import { pruneOldData } from "./prune";

export type JobOutcome =
  | { job: string; ok: true; result: unknown; ms: number }
  | { job: string; ok: false; ms: number };

/**
 * The Cron Trigger's work: retire expired keys, roll usage up, end expired past-due grace periods, report
 * metered usage to Stripe, prune. Jobs run one after another, each on its own: a failing job is logged and the
 * others still run; the next trigger retries it (every job is idempotent and safe to overlap).
 */
export async function runScheduledJobs(env: Bindings, now: Date, log?: Logger): Promise<JobOutcome[]> {
  const config = configFor(env);
  const logger = log ?? createLogger(config.logLevel, { cron: true });
  const redis = redisFor(config);
  const { db, close } = openDatabase(config);
  const jobs: Array<[string, () => Promise<unknown>]> = [
    ["retire-expired-keys", () => retireExpiredKeys({ db, redis }, now)],
    ["rollup-usage", () => rollupUsage({ db, redis })],
    [
      "expire-past-due",
      () =>
        expirePastDueAccounts(
          {
            db,
            redis,
            stripe: stripeClient(config),
            environment: config.keyEnvironment,
            pastDueGraceDays: config.pastDueGraceDays,
            log: logger,
          },
          now,
        ),
    ],
    // After the rollup, so the usage it reports is as fresh as Postgres has it.
    [
      "report-metered-usage",
      () =>
        reportMeteredUsage(
          { db, stripe: stripeClient(config), meterEventName: config.stripeMeterEventName },
          now,
        ),
    ],
    ["prune", () => pruneOldData(db, now)],
  ];
  const outcomes: JobOutcome[] = [];
  try {
    for (const [job, run] of jobs) {
      const started = Date.now();
      try {
        const result = await run();
        outcomes.push({ job, ok: true, result, ms: Date.now() - started });
        logger.info("scheduled job done", { job, result, ms: Date.now() - started });
      } catch (error) {
        outcomes.push({ job, ok: false, ms: Date.now() - started });
        logger.error("scheduled job failed; the next run retries", { job, error });
      }
    }
  } finally {
    await close().catch(() => {});
  }
  return outcomes;
}
