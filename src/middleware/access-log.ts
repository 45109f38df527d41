import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../lib/context";

/**
 * One structured line per data-plane request, which Workers Logs can query: request id, account, key id,
 * tier, outcome, status and latency. Never the key itself (the logger redacts key shapes besides).
 *
 * Refusals and errors (status >= 400) are always logged. Answered requests are all logged up to
 * ACCESS_LOG_UNSAMPLED_PER_SECOND in each second of this isolate; beyond that ACCESS_LOG_SAMPLE_RATE of
 * them are, chosen at random, and each such line carries `sampleRate`. A count of answered requests is then
 * the sum over lines of 1 / sampleRate (1 for a line without it). The line is the largest of the gateway's
 * own per-request costs (docs/BENCHMARK.md: about 0.06 ms of workerd CPU, a console.log and its JSON), so a
 * busy isolate samples it; exact per-key counts are the usage meter's job, not the log's.
 *
 * @example app.ts makes one per isolate and runs it only for paths under API_PREFIXES: `await log(c, next)`
 */
export function accessLog(): MiddlewareHandler<AppEnv> {
  const unsampled = new UnsampledBudget();
  return async function accessLogMiddleware(c, next) {
    const started = Date.now();
    await next();
    const status = c.res.status;
    const config = c.get("config");
    let sampleRate: number | undefined;
    if (
      status < 400 &&
      config.accessLogSampleRate < 1 &&
      !unsampled.take(Date.now(), config.accessLogUnsampledPerSecond)
    ) {
      if (!(Math.random() < config.accessLogSampleRate)) return;
      sampleRate = config.accessLogSampleRate;
    }
    const caller = c.get("caller");
    c.get("log").info("request", {
      method: c.req.method,
      path: c.req.path,
      status,
      outcome: c.get("outcome") ?? (status < 400 ? "ok" : "error"),
      accountId: caller?.accountId,
      keyId: caller?.keyId,
      tier: caller?.tier,
      latencyMs: Date.now() - started,
      ...(sampleRate === undefined ? {} : { sampleRate }),
    });
  };
}

/** How many answered requests this isolate has logged in full in the current second. */
class UnsampledBudget {
  private second = -1;
  private used = 0;

  /** Takes one line of `perSecond` for the second of `nowMs`; false once that second's are used. */
  take(nowMs: number, perSecond: number): boolean {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.second) {
      this.second = second;
      this.used = 0;
    }
    if (this.used >= perSecond) return false;
    this.used++;
    return true;
  }
}
