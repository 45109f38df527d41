import { reportMeteredUsage } from "../billing/metering/metering";
import { expirePastDueAccounts } from "../billing/webhooks/past-due";
import { type Bindings, configFor } from "../config";
import { lazyDatabase } from "../db/lazy";
import { replayEdgeOutbox } from "../keys/edge-outbox";
import { retireExpiredKeys } from "../keys/retire";
import { createLogger, type Logger } from "../lib/log";
import { mailConfigured } from "../mail/mail-client";
import { brandOf } from "../portal/services/account-mail";
import { createServices } from "../services";
import { rollupUsage } from "../usage/rollup";
import { replaySpool } from "../usage/spool";
import { pruneOldData } from "./prune";
import { sendQuotaAlerts } from "./quota-alerts";

type JobOutcome =
  | { job: string; ok: true; result: unknown; ms: number }
  | { job: string; ok: false; ms: number };

/**
 * The Cron Trigger's work: retire expired keys, roll usage up, end expired past-due grace periods, report
 * metered usage to Stripe, prune. Jobs run one after another, each on its own: a failing job is logged and the
 * others still run; the next trigger retries it (every job is idempotent and safe to overlap).
 */
/**
 * The Cron Trigger that runs only the replays (wrangler.toml): usage Redis missed and committed changes the
 * edge missed land within a minute.
 */
const SPOOL_REPLAY_CRON = "* * * * *";

export async function runScheduledJobs(
  env: Bindings,
  now: Date,
  log?: Logger,
  cron?: string,
): Promise<JobOutcome[]> {
  const config = configFor(env);
  const logger = log ?? createLogger(config.logLevel, { cron: true });
  // The same services a request gets (src/services.ts), with one pool for the whole run.
  const database = lazyDatabase(config);
  const services = createServices({ config, log: logger, database, now: () => now.getTime() });
  const { db, redis } = services;
  // First, so the rollup below already sees the counts Redis missed.
  const replay: Array<[string, () => Promise<unknown>]> = [
    ["replay-usage-spool", () => replaySpool({ db, redis })],
    // Committed changes whose publish to Redis failed (or that no service published, e.g. an operator
    // deleting an account in SQL) reach the edge before anything else runs.
    ["replay-edge-outbox", () => replayEdgeOutbox({ db, redis })],
  ];
  const jobs: Array<[string, () => Promise<unknown>]> =
    cron === SPOOL_REPLAY_CRON
      ? replay
      : [
          ...replay,
          ["retire-expired-keys", () => retireExpiredKeys({ db, redis }, now)],
          ["rollup-usage", () => rollupUsage({ db, redis })],
          [
            "expire-past-due",
            () =>
              expirePastDueAccounts(
                {
                  db,
                  redis,
                  stripe: services.stripe,
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
                { db, stripe: services.stripe, meterEventName: config.stripeMeterEventName },
                now,
              ),
          ],
          // Portal accounts: 80 % / 100 % quota mails, from the counters the edge keeps (never on the request path).
          [
            "quota-alerts",
            () =>
              sendQuotaAlerts(
                {
                  db,
                  redis,
                  log: logger,
                  mailer: mailConfigured(config) ? services.mailer : undefined,
                  brand: brandOf(config),
                  portalUrl: config.portalUrl,
                },
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
    await database.close();
  }
  return outcomes;
}
